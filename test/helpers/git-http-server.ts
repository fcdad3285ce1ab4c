import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real smart-HTTP Git server for tests: node:http in front of `git http-backend` run as a
 * CGI program, over the bare repositories in `root` (`url('desired.git')`). With `token`, a
 * request must carry it (`Authorization: Bearer <token>`, or Basic with the token as user name
 * or password) or gets a 401 with `WWW-Authenticate: Basic`. Pushing over HTTP is enabled
 * (`http.receivepack=true`, given to http-backend through the environment). `port` lets a test
 * bring a server back on the address a client already knows.
 */
export interface GitHttpServer {
  readonly port: number;
  url(repoName: string): string;
  /** Requests answered so far, e.g. to see whether a fetch happened. */
  readonly requests: readonly { method: string; path: string; status: number }[];
  close(): Promise<void>;
}

export async function startGitHttpServer(options: { root: string; token?: string; port?: number }): Promise<GitHttpServer> {
  const children = new Set<ChildProcess>();
  const requests: { method: string; path: string; status: number }[] = [];

  const server = createServer((req, res) => {
    const user = authenticate(req, options.token);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const record = (status: number) => requests.push({ method: req.method ?? '', path: url.pathname + url.search, status });
    if (user === null) {
      req.resume();
      record(401);
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"', 'content-type': 'text/plain' }).end('authentication required\n');
      return;
    }
    runBackend(req, res, url, user, options.root, children, record);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    requests,
    url: (repoName: string) => `http://127.0.0.1:${port}/${repoName}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const child of children) child.kill('SIGKILL');
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The user name for REMOTE_USER, `''` for anonymous access when no token is required, `null` when refused. */
function authenticate(req: IncomingMessage, token: string | undefined): string | null {
  if (token === undefined) return '';
  const header = req.headers.authorization ?? '';
  const bearer = /^Bearer\s+(.+)$/i.exec(header);
  if (bearer) return bearer[1] === token ? 'token-user' : null;
  const basic = /^Basic\s+(.+)$/i.exec(header);
  if (basic) {
    const decoded = Buffer.from(basic[1] ?? '', 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = colon < 0 ? decoded : decoded.slice(0, colon);
    const pass = colon < 0 ? '' : decoded.slice(colon + 1);
    if (user === token || pass === token) return user === token ? 'token-user' : user || 'token-user';
  }
  return null;
}

function runBackend(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  user: string,
  root: string,
  children: Set<ChildProcess>,
  record: (status: number) => void,
): void {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'http.receivepack',
    GIT_CONFIG_VALUE_0: 'true',
    HOME: root,
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.replace(/^\?/, ''),
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
  };
  if (user) env.REMOTE_USER = user;
  if (req.headers['content-type']) env.CONTENT_TYPE = req.headers['content-type'];
  // Without CONTENT_LENGTH (a chunked request) http-backend reads stdin to its end.
  if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name === 'authorization' || name === 'content-type' || name === 'content-length') continue;
    env[`HTTP_${name.toUpperCase().replace(/-/g, '_')}`] = Array.isArray(value) ? value.join(', ') : value;
  }

  const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  child.on('close', () => children.delete(child));
  const fail = (status: number, text: string) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    record(status);
    res.writeHead(status, { 'content-type': 'text/plain' }).end(text);
  };
  child.on('error', (err) => fail(500, `cannot run git http-backend: ${err.message}\n`));
  child.stdin.on('error', () => {}); // the backend may answer (and exit) before reading everything
  req.pipe(child.stdin);
  req.on('error', () => child.kill('SIGKILL'));
  res.on('close', () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));

  // CGI output: header lines, an empty line, then the body.
  let head: Buffer | null = Buffer.alloc(0);
  child.stdout.on('data', (chunk: Buffer) => {
    if (head === null) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = findHeaderEnd(head);
    if (end === null) return;
    const headerText = head.subarray(0, end.index).toString('latin1');
    const rest = head.subarray(end.index + end.length);
    head = null;
    let status = 200;
    let reason = 'OK';
    const headers: Record<string, string> = {};
    for (const line of headerText.split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === 'status') {
        const m = /^(\d{3})\s*(.*)$/.exec(value);
        if (m) {
          status = Number(m[1]);
          reason = m[2] || reason;
        }
      } else {
        headers[name] = value;
      }
    }
    record(status);
    res.writeHead(status, reason, headers);
    if (rest.length > 0) res.write(rest);
  });
  child.stdout.on('end', () => {
    if (head !== null) fail(502, `git http-backend sent no headers\n${stderr}`);
    else res.end();
  });
}

function findHeaderEnd(buf: Buffer): { index: number; length: number } | null {
  const crlf = buf.indexOf('\r\n\r\n');
  const lf = buf.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf <= lf)) return { index: crlf, length: 4 };
  if (lf >= 0) return { index: lf, length: 2 };
  return null;
}
