import { createAdaptorServer } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Hono } from 'hono';

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  /** Stops accepting connections; open ones end when their responses do (or are cut after `graceMs`). */
  close(graceMs?: number): Promise<void>;
}

/** Listens with the node adapter; resolves once bound (rejects on EADDRINUSE and friends). */
export async function startHttpServer<E extends object>(app: Hono<E & { Bindings: object }>, host: string, port: number): Promise<RunningServer> {
  const server = createAdaptorServer({ fetch: app.fetch, hostname: host, port }) as Server;
  // Long-lived SSE streams must not be cut by Node's own timeouts.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    port: address.port,
    close: (graceMs = 5_000) =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        const t = setTimeout(() => {
          server.closeAllConnections();
        }, graceMs);
        t.unref();
      }),
  };
}
