/**
 * The connection pool every agent of a fleet shares, for its reports to the controller and its
 * package downloads from the mirror. Only connections to the controller are kept alive.
 *
 * Why: Node's HTTP servers close a keep-alive connection idle for 5 s (`keepAliveTimeout`),
 * and a client that reuses it at that very moment gets "socket hang up" / ECONNRESET. One
 * agent meets this rarely; thousands sharing a pool meet it all the time, and a busy fleet's
 * own idle timers fire late. For a report it costs a retry; for a package download it fails
 * the command (the agent does not retry it). Downloads are a few per agent per rollout, so
 * each gets a fresh connection; reports, every few seconds, reuse theirs — closed by the pool
 * after `idleMs` idle, before the server would.
 */
import { Agent as HttpAgent, type AgentOptions } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Duplex } from 'node:stream';
import { httpsAgentOptions, type AgentTls } from '../reference/agent-tls.ts';
import type { KeepAliveAgents } from '../reference/controller-client.ts';

/** Below Node's default server keep-alive timeout (5 s). */
export const IDLE_SOCKET_MS = 3000;

export function fleetConnections(
  controllerUrl: string, maxSockets: number, idleMs = IDLE_SOCKET_MS, tls: AgentTls = {},
): KeepAliveAgents {
  const controller = new URL(controllerUrl);
  const port = Number(controller.port || (controller.protocol === 'https:' ? 443 : 80));
  // `timeout` on an Agent applies to its free sockets: an idle one is destroyed when it fires.
  const options: AgentOptions = { keepAlive: true, maxSockets, timeout: idleMs };
  const toController = (socket: Duplex): boolean => (socket as Duplex & { remotePort?: number }).remotePort === port;
  // Node's own keepSocketAlive answers whether the socket may be kept (its typings say void).
  class Http extends HttpAgent {
    override keepSocketAlive(socket: Duplex): boolean {
      return toController(socket) && (super.keepSocketAlive(socket) as unknown) !== false;
    }
  }
  class Https extends HttpsAgent {
    override keepSocketAlive(socket: Duplex): boolean {
      return toController(socket) && (super.keepSocketAlive(socket) as unknown) !== false;
    }
  }
  return { http: new Http(options), https: new Https({ ...options, ...httpsAgentOptions(tls) }) };
}
