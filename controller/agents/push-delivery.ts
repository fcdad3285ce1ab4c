import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import fetch from 'node-fetch';
import type { AgentCommand } from '../../protocol/command.ts';
import type { PushedCommands } from '../../protocol/push.ts';
import { PUSH_SIGNATURE_HEADER } from '../../protocol/push-signature.ts';

export interface PushLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface PushDeliveryOptions {
  /** Signs a body: the `X-Versiond-Signature` header value (the controller key). */
  readonly sign: (body: Uint8Array) => string;
  /** The commands to push now for an agent (read when the push starts: always the latest). */
  readonly commandsFor: (agent: string) => readonly AgentCommand[];
  readonly timeoutMs?: number;
  /** Attempts per push, backoff doubling from `backoffMs` between them. */
  readonly attempts?: number;
  readonly backoffMs?: number;
  /** Pushes in flight at once, across agents. */
  readonly concurrency?: number;
  readonly now?: () => number;
  readonly logger?: PushLogger;
  /** `delivered`, or `failed` after the last attempt (the commands wait in the mailbox). */
  readonly onOutcome?: (agent: string, outcome: 'delivered' | 'failed', attempts: number) => void;
  /** Also trusted for agents' https endpoints (the CA of --tls-client-ca, which issues agents' certificates). */
  readonly ca?: Buffer;
}

/**
 * Pushes an agent's pending commands to its own endpoint (`bidirectional` members, seed 000):
 * `POST {endpoint}/v1/commands`, signed with the controller key, a few attempts with
 * backoff. Pushing only saves the agent the wait for its next report: the commands stay in
 * the mailbox whatever happens, so a failed push loses nothing — the agent gets them in the
 * answer to its next report, and runs each id once however often it receives it.
 *
 * Per agent at most one push is in flight; a change while it is in flight makes one more
 * push afterwards, with the commands of that moment (never a stale list).
 */
export class PushDelivery {
  private readonly inFlight = new Set<string>();
  private readonly again = new Map<string, string>();
  private readonly waiting: { agent: string; endpoint: string }[] = [];
  private active = 0;
  private stopped = false;
  private readonly controllers = new Set<AbortController>();
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 64 });
  private readonly httpsAgent: HttpsAgent;

  constructor(private readonly options: PushDeliveryOptions) {
    const ca = options.ca === undefined ? {} : { ca: [...rootCertificates, options.ca.toString('utf8')] };
    this.httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 64, ...ca });
  }

  /** Push `agent`'s pending commands to `endpoint` (coalesced with a push already under way). */
  push(agent: string, endpoint: string): void {
    if (this.stopped) return;
    if (this.inFlight.has(agent)) {
      this.again.set(agent, endpoint);
      return;
    }
    this.inFlight.add(agent);
    this.waiting.push({ agent, endpoint });
    this.pump();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.waiting.length = 0;
    for (const c of this.controllers) c.abort();
    while (this.active > 0) await new Promise((r) => setTimeout(r, 10));
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private pump(): void {
    const limit = this.options.concurrency ?? 16;
    while (this.active < limit && this.waiting.length > 0) {
      const next = this.waiting.shift()!;
      this.active++;
      void this.deliver(next.agent, next.endpoint).finally(() => {
        this.active--;
        this.inFlight.delete(next.agent);
        const endpoint = this.again.get(next.agent);
        if (endpoint !== undefined) {
          this.again.delete(next.agent);
          this.push(next.agent, endpoint);
        }
        this.pump();
      });
    }
  }

  private async deliver(agent: string, endpoint: string): Promise<void> {
    const attempts = this.options.attempts ?? 3;
    const backoff = this.options.backoffMs ?? 500;
    const url = `${endpoint.replace(/\/+$/, '')}/v1/commands`;
    for (let attempt = 1; attempt <= attempts && !this.stopped; attempt++) {
      const sentAt = new Date((this.options.now ?? Date.now)()).toISOString();
      const push: PushedCommands = { agent, sentAt, commands: this.options.commandsFor(agent) };
      const body = Buffer.from(JSON.stringify(push));
      const error = await this.post(url, body);
      if (error === undefined) {
        this.options.logger?.debug({ agent, endpoint, attempt }, 'commands pushed');
        this.options.onOutcome?.(agent, 'delivered', attempt);
        return;
      }
      if (attempt === attempts) {
        this.options.logger?.warn({ agent, endpoint, attempts, err: error }, 'push failed; the commands wait for the agent\'s next report');
        this.options.onOutcome?.(agent, 'failed', attempt);
        return;
      }
      await new Promise((r) => setTimeout(r, backoff * 2 ** (attempt - 1)).unref());
    }
  }

  /** One attempt; the reason it failed, or undefined. */
  private async post(url: string, body: Buffer): Promise<string | undefined> {
    const controller = new AbortController();
    this.controllers.add(controller);
    const timer = setTimeout(() => controller.abort(), this.options.timeoutMs ?? 5000);
    try {
      const res = await fetch(url, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', [PUSH_SIGNATURE_HEADER]: this.options.sign(body) },
        signal: controller.signal,
        agent: (u: URL) => (u.protocol === 'https:' ? this.httpsAgent : this.httpAgent),
        redirect: 'error',
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.status >= 200 && res.status < 300 ? undefined : `HTTP ${res.status}`;
    } catch (err) {
      return controller.signal.aborted ? 'timed out' : (err as Error).message;
    } finally {
      clearTimeout(timer);
      this.controllers.delete(controller);
    }
  }
}
