/**
 * `versiond-agent --config FILE` (issue 17): the agent configuration `versiond agents add`
 * writes (protocol/agent-config.ts), read as the flags it stands for. Errors name the file,
 * the line and column of a JSON syntax error, and the key, so a mistyped key is never
 * silently ignored on one of hundreds of machines.
 */
import { readFileSync } from 'node:fs';
import { AGENT_CONFIG_KEYS, type AgentConfig } from '../../protocol/agent-config.ts';

export class AgentConfigError extends Error {}

/** `tokenFile` → `token-file`: the flag a key stands for. */
export function flagOf(key: keyof AgentConfig): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export function readAgentConfig(file: string): AgentConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').replace(/^\uFEFF/, ''); // Notepad writes a BOM
  } catch (err) {
    throw new AgentConfigError(`--config ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new AgentConfigError(`--config ${file}${position(text, err as Error)}: not JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AgentConfigError(
      `--config ${file}: must be a JSON object of the agent's flags ({"controller": …, "id": …})`,
    );
  }
  for (const [key, v] of Object.entries(value)) {
    if (!(key in AGENT_CONFIG_KEYS)) {
      const known = Object.keys(AGENT_CONFIG_KEYS).join(', ');
      throw new AgentConfigError(`--config ${file}: unknown key ${JSON.stringify(key)} (known: ${known})`);
    }
    if (typeof v !== 'string' || v === '') {
      throw new AgentConfigError(`--config ${file}: ${key} must be a non-empty string`);
    }
  }
  return value as AgentConfig;
}

/** `:line:column` of a JSON.parse error that says where (`… at position 42`). */
function position(text: string, err: Error): string {
  const at = /position (\d+)/.exec(err.message);
  if (at === null) return '';
  const before = text.slice(0, Number(at[1]));
  const line = before.split('\n').length;
  return `:${line}:${before.length - before.lastIndexOf('\n')}`;
}
