/**
 * Report bodies as a fleet sends them (schemas/agent-report.schema.json): one or two
 * components, a command result sometimes, facts sometimes. Built from per-agent fragments,
 * so the load generator spends its one core on sending, not on JSON.stringify.
 */
import { agentId, roleOf } from './fleet.ts';

/** Share of reports carrying the result of a command the agent ran. */
export const RESULT_SHARE = 0.2;
/** Share of reports carrying facts (backup time, cluster members, download in progress). */
export const FACTS_SHARE = 0.15;

/** The fixed parts of one agent's reports. */
export interface ReportParts {
  /** Everything after the sequence and sentAt, up to the optional results and facts. */
  readonly common: string;
  readonly result: string;
  readonly facts: string;
}

export function reportParts(index: number): ReportParts {
  const role = roleOf(index);
  const h = hash(index);
  const at = new Date(Date.parse('2026-11-22T08:00:00.000Z') + (h % 3_600_000)).toISOString();
  let components: string;
  let facts: string;
  switch (role) {
    case 'dev': {
      const version = h % 5 === 0 ? '4.2.1' : '4.3.0';
      const staged = h % 20 === 1 ? ',"staged":{"version":"4.3.1","verified":true}' : '';
      const plugin = h % 10 < 3 ? ',{"product":"watchdoc-client","version":"6.1.3","state":"running"}' : '';
      components = `[{"product":"w360-device","version":"${version}","state":"running"${staged}}${plugin}]`;
      facts = `{"downloading":${h % 7 === 0}}`;
      break;
    }
    case 'srv': {
      const mode = h % 11 === 0 ? 'update' : 'normal';
      components = `[{"product":"ums","version":"6.1.3","state":"running","mode":"${mode}"},{"product":"w360-core","version":"4.3.0","state":"running","pendingRestart":false}]`;
      facts = `{"lastBackup":"${at}","registeredMembers":["ums-${h % 50}-a","ums-${h % 50}-b","lb-${h % 50}"]}`;
      break;
    }
    case 'wrs':
      components = `[{"product":"wrs","version":"2.0.4","state":"running","serves":["4.2.1","4.3.0"]},{"product":"w360-device","version":"4.3.0","state":"running"}]`;
      facts = `{"content":{"patches":[{"path":"patches/p-${h % 100}.bin","sha256":"${hex64(h)}"}]}}`;
      break;
  }
  // Servers are `bidirectional` members: they advertise where commands may be pushed.
  const endpoint = role === 'srv' ? `,"endpoint":"http://10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}:8731"` : '';
  return {
    common: `"agentVersion":"1.4.2"${endpoint},"components":${components}`,
    result: `,"results":[{"id":"${hex64(h).slice(0, 16)}","status":"${h % 13 === 0 ? 'failed' : 'succeeded'}","at":"${at}"${h % 13 === 0 ? ',"message":"disk full"' : ''}}]`,
    facts: `,"facts":${facts}`,
  };
}

export function reportBody(parts: ReportParts, sequence: number, sentAt: string, withResult: boolean, withFacts: boolean): string {
  return `{"sequence":${sequence},"sentAt":"${sentAt}",${parts.common}${withResult ? parts.result : ''}${withFacts ? parts.facts : ''}}`;
}

/** A typical first report of agent `index` (the memory measurement): the same mix of results and facts as under load. */
export function typicalReport(index: number, sentAt: string): { agent: string; body: string } {
  const h = hash(index ^ 0x5bd1e995);
  const withResult = (h % 1000) / 1000 < RESULT_SHARE;
  const withFacts = ((h >>> 10) % 1000) / 1000 < FACTS_SHARE;
  return { agent: agentId(index), body: reportBody(reportParts(index), 1, sentAt, withResult, withFacts) };
}

/** A well-mixed 32-bit hash of an index (murmur3 finaliser): varied but reproducible reports. */
function hash(n: number): number {
  let x = n >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

function hex64(seed: number): string {
  let out = '';
  let x = seed;
  while (out.length < 64) {
    x = hash(x + 1);
    out += x.toString(16).padStart(8, '0');
  }
  return out;
}

export { seededRandom } from '../../agent/reference/seeded-random.ts';
