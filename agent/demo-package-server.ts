import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { demoArtifactBytes } from './demo-artifacts.ts';

export interface DemoPackageServer {
  /** Give this as `--artifact-mirror` to the controller and the agents. */
  readonly mirror: string;
  /** Downloads served so far, by path. */
  readonly downloads: ReadonlyMap<string, number>;
  /** Serve altered bytes for packages whose path contains `fragment` (a tampered mirror). */
  tamper(fragment: string): void;
  close(): Promise<void>;
}

/**
 * A package mirror for the embedded example: answers `/<host>/<product>/<version>/<file>` —
 * the mirror layout of a release URL `https://<host>/<product>/<version>/<file>` — with the
 * demo package of that product and version (`demo-artifacts.ts`), whose sha256 and Ed25519
 * signature the example releases carry. So the demo, the tests and the benchmarks download
 * and verify real bytes over real HTTP, with no network. `tamper()` makes it serve altered
 * bytes, to show that an agent and the controller refuse them.
 */
export async function startDemoPackageServer(options: { host?: string; port?: number } = {}): Promise<DemoPackageServer> {
  const downloads = new Map<string, number>();
  const tampered: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    if (req.method !== 'GET' || parts.length < 4) {
      res.writeHead(404).end();
      return;
    }
    const [, product, version] = parts as [string, string, string];
    downloads.set(path, (downloads.get(path) ?? 0) + 1);
    let bytes = demoArtifactBytes(product, version);
    if (tampered.some((t) => path.includes(t))) {
      bytes = Buffer.from(bytes);
      bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
    res.end(bytes);
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    mirror: `http://127.0.0.1:${port}`,
    downloads,
    tamper: (fragment) => void tampered.push(fragment),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
