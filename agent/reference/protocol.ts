/**
 * The messages of agent protocol v1 as the reference agent sends and receives them. The
 * JSON Schemas in `schemas/agent-*.schema.json` are the contract; these types mirror them
 * and every message crossing the wire is checked against them (`protocol-validation.ts`).
 * Component and result shapes are the ones the reconcilers read (`reconcilers/observed.ts`),
 * so what the agent reports is exactly what a reconciler sees.
 */
import type { Action, ArtifactRef } from '../../reconcilers/contract.ts';
import type { AgentObservation, CommandResult, ComponentReport } from '../../reconcilers/observed.ts';

export type { Action, ArtifactRef, CommandResult, ComponentReport };

/** One step the controller asks for (`schemas/agent-command.schema.json`). */
export interface AgentCommand {
  /** Deterministic from (target, member, action, version): the same step always has the same id. */
  readonly id: string;
  readonly action: Action;
  readonly target: string;
  readonly member: string;
  readonly product?: string;
  readonly version?: string;
  readonly artifact?: ArtifactRef;
  readonly params?: Readonly<Record<string, unknown>>;
}

/** Facts some reconcilers need beyond the components (`#/$defs/facts` of the report schema). */
export type Facts = NonNullable<AgentObservation['facts']>;

/** Body of `POST /v1/agents/{id}/report` (`schemas/agent-report.schema.json`). */
export interface AgentReport {
  readonly sequence: number;
  readonly sentAt: string;
  readonly endpoint?: string;
  readonly agentVersion: string;
  readonly components: readonly ComponentReport[];
  readonly results: readonly CommandResult[];
  readonly facts?: Facts;
}

/** The 200 answer to a report (`schemas/agent-report-answer.schema.json`). */
export interface ReportAnswer {
  readonly sequence: number;
  /** Every command pending for this agent, in the order to run them. */
  readonly commands: readonly AgentCommand[];
  readonly reportAfterSeconds: number;
}

/** Body of a push to `POST {endpoint}/v1/commands` (`schemas/agent-push.schema.json`). */
export interface PushedCommands {
  readonly agent: string;
  readonly sentAt: string;
  readonly commands: readonly AgentCommand[];
}

/** Body of every 4xx/5xx of the protocol (`schemas/agent-error.schema.json`). */
export interface ProtocolError {
  readonly error: string;
  readonly message: string;
  readonly field?: string;
  readonly lastSequence?: number;
}

export const REPORT_SCHEMA = 'agent-report.schema.json';
export const ANSWER_SCHEMA = 'agent-report-answer.schema.json';
export const PUSH_SCHEMA = 'agent-push.schema.json';
export const ERROR_SCHEMA = 'agent-error.schema.json';
