import { createServer } from 'node:net';

/**
 * A TCP port free on 127.0.0.1 right now. The controller of an end-to-end test keeps ONE
 * port across its restarts (agents are configured with its URL once, as in production), so
 * port 0 cannot be used: the port is picked here and handed to every run.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
