/**
 * A real HTTP server handing out the demo packages (`agent/demo-artifacts.ts`), and the
 * artifact references a command carries for them — genuine sha256 and Ed25519 signatures,
 * so the agent verifies them exactly as in production.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { demoArtifact, demoArtifactBytes } from '../../../agent/demo-artifacts.ts';
import type { ArtifactRef } from '../../../agent/reference/protocol.ts';

export class ArtifactServer {
  /** Downloads served, by path. */
  readonly downloads = new Map<string, number>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<ArtifactServer> {
    let self: ArtifactServer | undefined;
    const server = createServer((req, res) => {
      // `/packages/…`, or a mirror's layout of a vendor's site: `/mirror/<vendor host>/packages/…` (mirror-url.ts).
      const m = /^(?:\/mirror\/[^/]+)?\/packages\/([^/]+)\/([^/]+)\.pkg$/.exec(req.url ?? '');
      if (!m) {
        res.writeHead(404).end();
        return;
      }
      self!.downloads.set(req.url!, (self!.downloads.get(req.url!) ?? 0) + 1);
      const bytes = demoArtifactBytes(decodeURIComponent(m[1]!), decodeURIComponent(m[2]!));
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length }).end(bytes);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    self = new ArtifactServer(server, `http://127.0.0.1:${port}`);
    return self;
  }

  /** The genuine artifact of `product` `version`, served here. */
  artifact(product: string, version: string): ArtifactRef {
    return { release: `${product}-${version}`, product, version, url: `${this.url}/packages/${product}/${version}.pkg`, ...demoArtifact(product, version) };
  }

  downloadsOf(product: string, version: string): number {
    return this.downloads.get(`/packages/${product}/${version}.pkg`) ?? 0;
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => {
      this.server.close(() => r());
      this.server.closeAllConnections();
    });
  }
}
