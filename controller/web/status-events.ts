/**
 * `GET /v1/events`: server-sent events, one per change of a target's status, for the web
 * pages' live updates and for scripts. Ids are `<boot>-<sequence>`; a client that reconnects
 * with `Last-Event-ID` gets what it missed from a bounded backlog, or a `reset` event (after
 * a controller restart, or when it missed more than the backlog holds) telling it to read
 * everything again. Idle streams cost one shared heartbeat timer, not one per client.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TargetStatus } from '../../reconcilers/contract.ts';
import type { TargetId } from '../../reconcilers/model/identity.ts';

export interface StatusEventsOptions {
  /** Events kept for clients that reconnect (default 1,024). */
  readonly backlog?: number;
  /** Open streams at most; more get 503 (default 1,000). */
  readonly maxClients?: number;
  /** A comment line this often keeps proxies from closing an idle stream (default 15 s). */
  readonly heartbeatMs?: number;
  /** What browsers wait before reconnecting (default 2 s). */
  readonly retryMs?: number;
  /** Distinguishes this process's ids from a previous one's. */
  readonly bootId: string;
}

const MAX_BUFFERED_BYTES = 1024 * 1024;

interface Sent {
  readonly sequence: number;
  readonly text: string;
}

export class StatusEvents {
  private sequence = 0;
  private readonly backlog: Sent[] = [];
  /** Each open stream, with the check that its reader may still read (a revoked token ends it). */
  private readonly clients = new Map<ServerResponse, () => boolean>();
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly limits: Required<Omit<StatusEventsOptions, 'bootId'>>;

  constructor(private readonly options: StatusEventsOptions) {
    this.limits = {
      backlog: options.backlog ?? 1024,
      maxClients: options.maxClients ?? 1000,
      heartbeatMs: options.heartbeatMs ?? 15_000,
      retryMs: options.retryMs ?? 2000,
    };
  }

  get openStreams(): number {
    return this.clients.size;
  }

  /** A target's status changed (undefined: the target was removed from the desired state). */
  publish(target: TargetId, status: TargetStatus | undefined): void {
    const data = status === undefined
      ? { target, removed: true }
      : { target, phase: status.phase, summary: status.summary, revision: status.observedRevision };
    const sequence = ++this.sequence;
    const text = `id: ${this.options.bootId}-${sequence}\nevent: status\ndata: ${JSON.stringify(data)}\n\n`;
    this.backlog.push({ sequence, text });
    if (this.backlog.length > this.limits.backlog) this.backlog.shift();
    for (const res of this.clients.keys()) this.send(res, text);
  }

  /**
   * Serves one stream; the caller has authorised the request. `allowed` is asked again at
   * every heartbeat: a viewer token removed while its stream is open ends the stream within
   * one heartbeat, as any other request of that token is refused at once.
   */
  handle(req: IncomingMessage, res: ServerResponse, allowed: () => boolean = () => true): void {
    if (this.clients.size >= this.limits.maxClients) {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '30' });
      res.end(JSON.stringify({
        error: 'TOO_MANY_STREAMS', message: `${this.limits.maxClients} event streams are open`,
      }));
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    req.socket.setTimeout(0);
    req.socket.setNoDelay(true);
    res.write(`retry: ${this.limits.retryMs}\n\n`);
    res.write(this.missed(lastEventId(req)));
    this.clients.set(res, allowed);
    this.heartbeat ??= setInterval(() => {
      for (const [client, stillAllowed] of this.clients) {
        if (stillAllowed()) this.send(client, ': keep-alive\n\n');
        else client.end();
      }
    }, this.limits.heartbeatMs).unref();
    const drop = () => {
      this.clients.delete(res);
      if (this.clients.size === 0 && this.heartbeat !== undefined) {
        clearInterval(this.heartbeat);
        this.heartbeat = undefined;
      }
    };
    res.on('close', drop);
  }

  /** Ends every stream (the controller stops); clients reconnect to the next one and get `reset`. */
  close(): void {
    for (const res of this.clients.keys()) res.end();
    this.clients.clear();
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  /**
   * A client that does not read (its socket buffer keeps growing) is cut off rather than
   * kept in memory: it reconnects with its Last-Event-ID and gets what it missed, or a reset.
   */
  private send(res: ServerResponse, text: string): void {
    if (res.writableLength > MAX_BUFFERED_BYTES) res.destroy();
    else res.write(text);
  }

  /** What a reconnecting client missed since `last`, or a reset when that cannot be told. */
  private missed(last: string | undefined): string {
    if (last === undefined) return '';
    const match = /^(.+)-(\d+)$/.exec(last);
    const seen = match !== null && match[1] === this.options.bootId ? Number(match[2]) : undefined;
    const oldest = this.backlog[0]?.sequence ?? this.sequence + 1;
    if (seen === undefined || seen > this.sequence || seen < oldest - 1) {
      return `id: ${this.options.bootId}-${this.sequence}\nevent: reset\ndata: {}\n\n`;
    }
    return this.backlog.filter((e) => e.sequence > seen).map((e) => e.text).join('');
  }
}

/** `Last-Event-ID` as browsers send it on reconnect, or `?lastEventId=` for clients that cannot set headers. */
function lastEventId(req: IncomingMessage): string | undefined {
  const header = req.headers['last-event-id'];
  if (typeof header === 'string' && header !== '') return header;
  const query = new URL(req.url ?? '/', 'http://x').searchParams.get('lastEventId');
  return query === null || query === '' ? undefined : query;
}
