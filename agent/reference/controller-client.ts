/**
 * The agent's side of `POST {controller}/v1/agents/{id}/report`: one exchange, its answer
 * checked against the protocol, and every way it can go wrong sorted into what the agent
 * does about it (see `ReportOutcome`). Connections are kept alive (an agent reports every
 * few seconds), through `http.Agent`s that many in-process agents may share.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { httpsAgentOptions, type AgentTls } from './agent-tls.ts';
import { httpRequest, readText } from './http-request.ts';
import { ANSWER_SCHEMA, type AgentReport, type ProtocolError, type ReportAnswer } from './protocol.ts';
import { schemaProblem } from './protocol-validation.ts';

export type ReportOutcome =
  /** 200: the answer, checked against the protocol. */
  | { readonly kind: 'answer'; readonly answer: ReportAnswer }
  /** 409 STALE_REPORT: the sequence was not greater than the last accepted one. */
  | { readonly kind: 'stale'; readonly lastSequence: number | undefined; readonly message: string }
  /** 401/403: the token is unknown or another agent's. Waiting will not fix it; a person must. */
  | { readonly kind: 'unauthorized'; readonly status: number; readonly message: string }
  /** 400/404/413/415…: the controller refuses this report; the agent or its configuration is wrong. */
  | { readonly kind: 'refused'; readonly status: number; readonly message: string }
  /** 5xx, network errors, timeouts, an answer that breaks the protocol: try again later. */
  | { readonly kind: 'unavailable'; readonly message: string };

/** Keep-alive connection pools; create one set and give it to every agent of a process. */
export interface KeepAliveAgents {
  readonly http: HttpAgent;
  readonly https: HttpsAgent;
}

export type { AgentTls };

export function keepAliveAgents(maxSockets = 256, tls: AgentTls = {}): KeepAliveAgents {
  return {
    http: new HttpAgent({ keepAlive: true, maxSockets }),
    https: new HttpsAgent({ keepAlive: true, maxSockets, ...httpsAgentOptions(tls) }),
  };
}

/** What a failed TLS connection means, in a sentence that says what to do (codes from node:tls). */
const TLS_ERRORS: Readonly<Record<string, string>> = {
  SELF_SIGNED_CERT_IN_CHAIN: "the controller's certificate is not trusted (its CA is not known here): give --ca FILE",
  DEPTH_ZERO_SELF_SIGNED_CERT: "the controller's certificate is self-signed and not trusted: give --ca FILE",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "the controller's certificate is not trusted (its CA is not known here): give --ca FILE",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the controller's certificate is not trusted (its CA is not known here): give --ca FILE",
  CERT_HAS_EXPIRED: "the controller's certificate has expired: it must be renewed",
  CERT_NOT_YET_VALID: "the controller's certificate is not valid yet (or this machine's clock is wrong)",
  ERR_TLS_CERT_ALTNAME_INVALID: "the controller's certificate is for another host name than the --controller URL's",
  EPROTO: 'the TLS handshake failed (an https:// URL to a plain HTTP port?)',
};

function describeFailure(e: Error & { code?: string; cause?: { code?: string } }): string {
  const code = e.code ?? e.cause?.code;
  const text = code !== undefined ? TLS_ERRORS[code] : undefined;
  return text !== undefined ? `${text} (${code})` : (code ?? e.message);
}

/** The pool for a URL (`http-request.ts`'s `agent` option; node-fetch's too, for the fleet simulator). */
export function agentFor(agents: KeepAliveAgents): (url: URL) => HttpAgent {
  return (url) => (url.protocol === 'https:' ? agents.https : agents.http);
}

export interface ControllerClientOptions {
  /** `http://127.0.0.1:8080` (a path prefix is kept). */
  readonly controllerUrl: string;
  readonly agentId: string;
  /** Absent when a client certificate authenticates the agent. */
  readonly token?: string;
  readonly agents: KeepAliveAgents;
  /** The connection may stay silent this long during an exchange (default 30 s). */
  readonly timeoutMs?: number;
}

export class ControllerClient {
  readonly reportUrl: string;
  private readonly agent: (url: URL) => HttpAgent;

  constructor(private readonly options: ControllerClientOptions) {
    this.agent = agentFor(options.agents);
    const base = options.controllerUrl.endsWith('/') ? options.controllerUrl : `${options.controllerUrl}/`;
    this.reportUrl = new URL(`v1/agents/${encodeURIComponent(options.agentId)}/report`, base).toString();
  }

  async report(report: AgentReport, signal?: AbortSignal): Promise<ReportOutcome> {
    // A report of an agent that is stopping is not started at all.
    if (signal?.aborted) return { kind: 'unavailable', message: `${this.reportUrl}: not sent, the agent is stopping` };
    let status: number;
    let text: string;
    try {
      const res = await httpRequest(this.reportUrl, {
        method: 'POST',
        headers: {
          ...(this.options.token !== undefined ? { authorization: `Bearer ${this.options.token}` } : {}),
          'content-type': 'application/json', accept: 'application/json',
        },
        body: JSON.stringify(report),
        agent: this.agent,
        ...(signal !== undefined ? { signal } : {}),
        timeoutMs: this.options.timeoutMs ?? 30_000,
      });
      status = res.status;
      text = await readText(res);
    } catch (err) {
      const e = err as Error & { code?: string; cause?: { code?: string } };
      const why = e.name === 'TimeoutError' ? e.message : describeFailure(e);
      return { kind: 'unavailable', message: `${this.reportUrl}: ${why}` };
    }

    if (status === 200) {
      let answer: unknown;
      try {
        answer = JSON.parse(text);
      } catch {
        return { kind: 'unavailable', message: `${this.reportUrl}: the answer is not JSON` };
      }
      const problem = schemaProblem(ANSWER_SCHEMA, answer);
      if (problem !== undefined) return { kind: 'unavailable', message: `${this.reportUrl}: the answer breaks protocol v1: ${problem}` };
      return { kind: 'answer', answer: answer as ReportAnswer };
    }

    const error = parseError(text);
    const plain = text.split('\n', 1)[0]!.trim().slice(0, 200);
    const said = error ? `${error.error}: ${error.message}` : `HTTP ${status}${plain !== '' ? `: ${plain}` : ''}`;
    if (status === 409) return { kind: 'stale', lastSequence: error?.lastSequence, message: said };
    if (status === 401 || status === 403) return { kind: 'unauthorized', status, message: said };
    if (status >= 500 || status === 429 || status === 408) return { kind: 'unavailable', message: `${this.reportUrl}: ${said}` };
    return { kind: 'refused', status, message: `${this.reportUrl}: ${said}${error?.field !== undefined ? ` (field ${error.field})` : ''}` };
  }
}

function parseError(text: string): ProtocolError | undefined {
  try {
    const v = JSON.parse(text) as Partial<ProtocolError>;
    if (typeof v.error === 'string' && typeof v.message === 'string') {
      return { error: v.error, message: v.message, ...(typeof v.field === 'string' ? { field: v.field } : {}), ...(Number.isSafeInteger(v.lastSequence) ? { lastSequence: v.lastSequence! } : {}) };
    }
  } catch {
    // not JSON: the status says enough
  }
  return undefined;
}
