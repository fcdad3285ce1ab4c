/**
 * The messages of agent protocol v1 as the reference agent sends and receives them. They are
 * defined once, in `protocol/` (shared with the controller and the reconcilers, so what the
 * agent reports is exactly what a reconciler reads); this module gathers what the agent uses
 * under one name. Every message crossing the wire is checked against its JSON Schema
 * (`protocol-validation.ts`).
 */
export type { Action } from '../../protocol/action.ts';
export type { ReportAnswer } from '../../protocol/answer.ts';
export type { ArtifactRef } from '../../protocol/artifact.ts';
export type { AgentCommand } from '../../protocol/command.ts';
export type { CommandResult } from '../../protocol/command-result.ts';
export type { ComponentReport } from '../../protocol/component.ts';
export type { ContentFile, ContentInventory } from '../../protocol/content.ts';
export type { ProtocolError } from '../../protocol/error.ts';
export type { Facts } from '../../protocol/facts.ts';
export type { PushedCommands } from '../../protocol/push.ts';
export { ANSWER_SCHEMA, ERROR_SCHEMA, PUSH_SCHEMA, REPORT_SCHEMA } from '../../protocol/schema-validation.ts';

import type { AgentReport as ProtocolReport } from '../../protocol/report.ts';

/** A report as this agent sends it: the protocol's, with the fields the agent always fills in. */
export type AgentReport = ProtocolReport & Required<Pick<ProtocolReport, 'sentAt' | 'agentVersion' | 'results'>>;
