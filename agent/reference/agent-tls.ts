/**
 * The TLS material of an agent (`--ca`, `--cert`, `--key`), shared by `versiond-agent` and
 * `versiond-fleet`: read once at start, with errors naming the flag and file, and turned into
 * the options of their https connection pools.
 */
import { readFile } from 'node:fs/promises';
import type { AgentOptions } from 'node:https';
import { rootCertificates } from 'node:tls';

/** PEM contents, not paths. */
export interface AgentTls {
  /** Trusted besides the system's roots: the CA that issued the controller's certificate. */
  readonly ca?: string;
  /** A client certificate naming the agent id (CN or SAN), and its key. */
  readonly cert?: string;
  readonly key?: string;
}

export interface AgentTlsFiles {
  readonly caFile?: string;
  /** The CA inline (`caPem` of a configuration file), when no file is named. */
  readonly caPem?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

export async function readAgentTls(files: AgentTlsFiles): Promise<AgentTls> {
  const pem = (flag: string, file: string | undefined) => file === undefined ? undefined
    : readFile(file, 'utf8').catch((err: Error) => Promise.reject(new Error(`${flag} ${file}: ${err.message}`)));
  const [ca, cert, key] = await Promise.all([pem('--ca', files.caFile), pem('--cert', files.certFile),
    pem('--key', files.keyFile)]);
  const trusted = ca ?? files.caPem;
  return {
    ...(trusted !== undefined ? { ca: trusted } : {}),
    ...(cert !== undefined && key !== undefined ? { cert, key } : {}),
  };
}

/** What an https.Agent needs of it: the CA added to the system's roots, the client certificate. */
export function httpsAgentOptions(tls: AgentTls): Pick<AgentOptions, 'ca' | 'cert' | 'key'> {
  return {
    ...(tls.ca !== undefined ? { ca: [...rootCertificates, tls.ca] } : {}),
    ...(tls.cert !== undefined && tls.key !== undefined ? { cert: tls.cert, key: tls.key } : {}),
  };
}
