/**
 * The simulated fleet of the ingest benchmark: agent ids, their tokens, and the
 * credential file the controller reads them from.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AGENTS_FILE, TOKEN_PREFIX } from '../../controller/agents/agent-credentials.ts';

/** Ids look like a real fleet's: a site, a role and a number (all valid agent ids). */
export function agentId(index: number): string {
  const site = SITES[index % SITES.length]!;
  const role = roleOf(index);
  return `${site}-${role}-${String(index).padStart(6, '0')}`;
}

const SITES = ['paris', 'lille', 'lyon', 'nantes', 'bordeaux', 'toulouse', 'rennes', 'nice'] as const;

/** What an agent runs decides the shape of its report: mostly devices, some servers and repository servers. */
export type Role = 'dev' | 'srv' | 'wrs';

export function roleOf(index: number): Role {
  const r = index % 100;
  return r < 75 ? 'dev' : r < 97 ? 'srv' : 'wrs';
}

/**
 * Writes `<stateDir>/agents.json` for `count` agents in the format AgentCredentials reads
 * (`{"version": 1, "agents": {id: {tokenSha256, createdAt}}}`) and returns the tokens, by
 * agent index. Written directly rather than through `AgentCredentials.add`, which rewrites
 * and fsyncs the whole file for every agent (quadratic: minutes for 10,000 agents); the
 * benchmark then opens the file with the real AgentCredentials, which checks every record,
 * and issues one more token through `add` to prove the file is what it writes.
 */
export function writeFleetCredentials(stateDir: string, count: number): string[] {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const tokens: string[] = new Array(count);
  const agents: Record<string, { tokenSha256: string; createdAt: string }> = {};
  const issued = Date.parse('2026-11-20T09:00:00.000Z');
  for (let i = 0; i < count; i++) {
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    tokens[i] = token;
    // Agents are enrolled over time: distinct dates, as a real file has.
    const createdAt = new Date(issued + i * 37_000).toISOString();
    agents[agentId(i)] = { tokenSha256: createHash('sha256').update(token).digest('hex'), createdAt };
  }
  writeFileSync(join(stateDir, AGENTS_FILE), `${JSON.stringify({ version: 1, agents }, null, 2)}\n`, { mode: 0o600 });
  return tokens;
}
