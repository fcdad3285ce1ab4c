/**
 * Enrolment an admin can script (issue 17): what `versiond agents add` needs to print, next
 * to the token, a configuration the agent starts with (`versiond-agent --config FILE`) — the
 * controller's URL, the agent's id, where its token file goes, the CA when TLS is on, and the
 * controller's key for pushed commands.
 */
import { X509Certificate } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { AgentConfig } from '../../protocol/agent-config.ts';
import { printable } from '../observability/printable.ts';
import { UsageError } from './usage.ts';

export interface Enrolment {
  readonly controller?: string;
  /** PEM text of the CA the agent trusts for the controller. */
  readonly ca?: string;
  readonly tokenFile: string;
}

export const DEFAULT_AGENT_TOKEN_FILE = '/etc/versiond-agent/token';

/** Checks the flags before any token is issued: a bad URL or CA file is a usage error. */
export async function readEnrolment(flags: {
  readonly controllerUrl?: string | undefined;
  readonly caFile?: string | undefined;
  readonly tokenFile?: string | undefined;
}): Promise<Enrolment> {
  const url = flags.controllerUrl;
  if (url !== undefined) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      throw new UsageError(`--controller-url must be an http(s) URL, not ${printable(JSON.stringify(url))}`);
    }
    if (parsed.username !== '' || parsed.password !== '') {
      throw new UsageError('--controller-url must not hold credentials: agents authenticate with their token');
    }
  }
  let ca: string | undefined;
  if (flags.caFile !== undefined) {
    try {
      ca = await readFile(flags.caFile, 'utf8');
    } catch (err) {
      throw new UsageError(`--ca ${printable(flags.caFile)}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
    }
    try {
      new X509Certificate(ca);
    } catch {
      throw new UsageError(`--ca ${printable(flags.caFile)}: not a PEM certificate`);
    }
    if (url !== undefined && url.toLowerCase().startsWith('http:')) {
      throw new UsageError('--ca is for a controller served over https: --controller-url starts with http://');
    }
  }
  return {
    ...(url !== undefined ? { controller: url.replace(/\/+$/, '') } : {}),
    ...(ca !== undefined ? { ca } : {}),
    tokenFile: flags.tokenFile ?? DEFAULT_AGENT_TOKEN_FILE,
  };
}

export function agentConfig(id: string, controllerKey: string, enrolment: Enrolment): AgentConfig {
  return {
    controller: enrolment.controller ?? 'https://CONTROLLER:8443',
    id,
    tokenFile: enrolment.tokenFile,
    ...(enrolment.ca !== undefined ? { caPem: enrolment.ca } : {}),
    controllerKey,
  };
}

/** Written whole or not at all, readable by its owner only: it names the token's place and the CA. */
export async function writeSecretFile(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, file);
}
