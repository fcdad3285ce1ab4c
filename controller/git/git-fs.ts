import * as fsp from 'node:fs/promises';

/**
 * The `fs` every isomorphic-git call in versiond receives.
 *
 * isomorphic-git wraps the `fs` it is given on *every* API call, and each wrap probes it by
 * calling `readFile()` with no arguments twice to learn whether it returns promises. With
 * Node's own `fs` each probe builds an ERR_INVALID_ARG_TYPE error with a stack trace: about
 * 0.8 s of a 10,000-file load (bench/desired-load.bench.ts). This object answers the probe
 * with a ready-made rejection and passes every real call to `node:fs/promises` unchanged.
 */
const PROBE_ANSWER = Object.assign(new Error('readFile called without a path'), { code: 'ERR_INVALID_ARG_TYPE' });

const promises = {
  readFile: (...args: unknown[]) =>
    args.length === 0 ? Promise.reject(PROBE_ANSWER) : (fsp.readFile as (...a: unknown[]) => Promise<unknown>)(...args),
  writeFile: fsp.writeFile,
  mkdir: fsp.mkdir,
  rmdir: fsp.rmdir,
  rm: fsp.rm,
  unlink: fsp.unlink,
  stat: fsp.stat,
  lstat: fsp.lstat,
  readdir: fsp.readdir,
  readlink: fsp.readlink,
  symlink: fsp.symlink,
  chmod: fsp.chmod,
};

export const gitFs = { promises };
