/**
 * Tokens for every agent of the benchmark's fleet: `<controller-state>/agents.json` in the
 * format AgentCredentials reads, and the fleet's tokens file (`versiond-fleet --tokens`).
 * Written at once rather than through `AgentCredentials.add`, which rewrites and fsyncs the
 * whole file for every agent (quadratic: minutes for 10,000 agents). The controller then
 * opens the file with the real AgentCredentials, which checks every record.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AGENTS_FILE, TOKEN_PREFIX } from '../../controller/agents/agent-credentials.ts';

export function writeFleetTokens(controllerStateDir: string, tokensFile: string, agents: readonly string[]): void {
  mkdirSync(controllerStateDir, { recursive: true, mode: 0o700 });
  const records: Record<string, { tokenSha256: string; createdAt: string }> = {};
  const tokens: Record<string, string> = {};
  const createdAt = new Date().toISOString();
  for (const id of agents) {
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    tokens[id] = token;
    records[id] = { tokenSha256: createHash('sha256').update(token).digest('hex'), createdAt };
  }
  writeFileSync(join(controllerStateDir, AGENTS_FILE), `${JSON.stringify({ version: 1, agents: records })}\n`, { mode: 0o600 });
  writeFileSync(tokensFile, `${JSON.stringify({ tokens })}\n`, { mode: 0o600 });
}
