/**
 * The actions of agent protocol v1 (`action` of `schemas/agent-command.schema.json`): what a
 * controller may ask an agent to do. Reconcilers decide which to send; agents carry them out.
 */
export type Action =
  | 'stage' // download and verify a release, install nothing ("propagate", seed 000)
  | 'apply' // install a staged release
  | 'restart' // restart to finalise (seeds 001, 003)
  | 'sync' // copy content to a distribution server (seed 002)
  | 'backup' // take a database backup (seed 004)
  | 'migrate' // the last UMS server migrates the production schema (seed 004)
  | 'end-update-mode'; // return a UMS server to normal mode (seed 004)
