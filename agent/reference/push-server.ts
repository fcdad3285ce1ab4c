/**
 * The agent's push endpoint, `POST /v1/commands` (webhook `pushCommands` of
 * `schemas/agent-protocol.openapi.json`), served when the member is `bidirectional` so its
 * commands need not wait for the next report. Nothing in a push is trusted before its
 * signature verifies: `X-Versiond-Signature: ed25519=<base64>` over the raw body, by the
 * controller's key (`GET /v1/controller-key`, given to the agent as `--controller-key`).
 *
 *   body over 1 MiB                       413 BODY_TOO_LARGE (read no further)
 *   signature missing or not verifying    401 UNAUTHENTICATED
 *   not JSON / not a push of protocol v1  400 INVALID_JSON / INVALID_REQUEST
 *   `agent` is not this agent             401 (a push signed for another agent, replayed here)
 *   `sentAt` more than 5 min off          401 (an old push, replayed)
 *   otherwise                             202: the commands are run as mailbox ones (same
 *                                         dedup by id), their outcome follows in reports.
 */
import type { KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { PUSH_SIGNATURE_HEADER, verifyPushSignature } from '../../protocol/push-signature.ts';
import { messageProblem } from '../../protocol/schema-validation.ts';
import { ed25519PublicKey } from '../../protocol/verify-package.ts';
import type { Logger } from './json-log.ts';
import { PUSH_SCHEMA, type AgentCommand, type ProtocolError, type PushedCommands } from './protocol.ts';

export const MAX_PUSH_BYTES = 1024 * 1024;
export const MAX_PUSH_SKEW_MS = 5 * 60_000;

export interface PushServerOptions {
  readonly agentId: string;
  /** The controller's raw 32-byte Ed25519 public key, base64. */
  readonly controllerKey: string;
  readonly onCommands: (commands: readonly AgentCommand[]) => void;
  readonly log: Logger;
  /** The agent's clock, epoch ms. */
  readonly clock: () => number;
  /** PEM certificate and key: serve HTTPS. */
  readonly tls?: { readonly cert: string; readonly key: string };
}

export class PushServer {
  private readonly key: KeyObject;
  private readonly server: Server;

  constructor(private readonly options: PushServerOptions) {
    try {
      this.key = ed25519PublicKey(options.controllerKey);
    } catch (err) {
      throw new Error(`--controller-key: ${(err as Error).message}`);
    }
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    // With the agent's certificate, pushes come over HTTPS; the controller checks it against its client CA.
    this.server = options.tls !== undefined ? createHttpsServer({ ...options.tls, minVersion: 'TLSv1.2' }, handler)
      : createServer(handler);
    this.server.requestTimeout = 30_000;
    this.server.keepAliveTimeout = 5_000;
  }

  /** Starts listening; resolves with the address actually bound (port 0 picks one). */
  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/v1/commands') return send(res, 404, { error: 'NOT_FOUND', message: `${path ?? ''}: the agent serves only POST /v1/commands` });
    if (req.method !== 'POST') return send(res, 405, { error: 'METHOD_NOT_ALLOWED', message: 'use POST' }, { allow: 'POST' });

    const body = await readBody(req, MAX_PUSH_BYTES);
    if (body === 'too-large') {
      this.options.log.warn({ remote: req.socket.remoteAddress }, 'push refused: body over 1 MiB');
      return send(res, 413, { error: 'BODY_TOO_LARGE', message: `a push is at most ${MAX_PUSH_BYTES} bytes` }, { connection: 'close' });
    }
    if (body === 'aborted') return;

    const header = req.headers[PUSH_SIGNATURE_HEADER];
    if (!verifyPushSignature(this.options.controllerKey, body, Array.isArray(header) ? header[0] : header)) {
      this.options.log.warn({ remote: req.socket.remoteAddress }, 'push refused: the X-Versiond-Signature does not verify with the controller key');
      return send(res, 401, { error: 'UNAUTHENTICATED', message: 'X-Versiond-Signature is missing or does not verify with the controller key' });
    }
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch (err) {
      return send(res, 400, { error: 'INVALID_JSON', message: `the body is not JSON: ${(err as Error).message}` });
    }
    const problem = messageProblem(PUSH_SCHEMA, value, '(the message)');
    if (problem !== undefined) {
      const message = `not a push of protocol v1: ${problem.message}`;
      const field = problem.field === '' ? '(the message)' : problem.field;
      return send(res, 400, { error: 'INVALID_REQUEST', message, field });
    }
    const push = value as PushedCommands;
    if (push.agent !== this.options.agentId) {
      this.options.log.warn({ pushedFor: push.agent }, `push refused: it is for agent ${push.agent}, not this one`);
      return send(res, 401, { error: 'UNAUTHENTICATED', message: `this push is for agent ${JSON.stringify(push.agent)}, not ${JSON.stringify(this.options.agentId)}` });
    }
    const skew = Date.parse(push.sentAt) - this.options.clock();
    if (!(Math.abs(skew) <= MAX_PUSH_SKEW_MS)) {
      this.options.log.warn({ sentAt: push.sentAt }, 'push refused: sentAt is more than 5 minutes off the agent clock');
      return send(res, 401, { error: 'UNAUTHENTICATED', message: `sentAt ${push.sentAt} is more than 5 minutes off the agent's clock (${new Date(this.options.clock()).toISOString()}): a replayed push, or clocks apart` });
    }
    this.options.log.info({ commands: push.commands.map((c) => c.id) }, `push accepted: ${push.commands.length} command(s)`);
    send(res, 202, { accepted: push.commands.length });
    this.options.onCommands(push.commands);
  }
}

/** The body, or `too-large` as soon as it passes `limit` (Content-Length is checked before reading). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large' | 'aborted'> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.resolve('too-large');
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        req.resume();
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks, size));
      done = true;
    });
    req.on('aborted', () => {
      if (!done) resolve('aborted');
      done = true;
    });
    req.on('error', () => {
      if (!done) resolve('aborted');
      done = true;
    });
  });
}

function send(res: ServerResponse, status: number, body: ProtocolError | { accepted: number }, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
