import { getRequestListener } from '@hono/node-server';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { underBasePath } from './base-path.js';

/** How long a connection that has sent nothing is left open once the server closes. */
const SILENT_GRACE_MS = 500;

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  /** Stops accepting connections; open ones end when their responses do (or are cut after `graceMs`). */
  close(graceMs?: number): Promise<void>;
}

export type FetchHandler = (request: Request, env: { incoming: IncomingMessage; outgoing: ServerResponse }) => Response | Promise<Response>;

/**
 * The routes for requests under publicUrl's path (base-path.ts): a request for `{path}/...`
 * reaches these with `req.url` set to `/...`. The same routes as at the root, but logging the
 * path as requested (requestedPathLogger).
 */
export interface BasePathRoutes {
  /** `/proxy`: no trailing slash; '' serves nothing under a path. */
  readonly path: string;
  readonly fetch: FetchHandler;
  readonly fast: (req: IncomingMessage, res: ServerResponse) => boolean;
}

export interface HttpServerOptions {
  readonly requestTimeoutMs?: number;
  readonly basePath?: BasePathRoutes | undefined;
}

/** How long a client may take to send a whole request (headers and body). */
export const REQUEST_TIMEOUT_MS = 60_000;

/**
 * Listens with Node's http server: `fast` takes the requests it recognises (the MCP hot
 * path), the hono app (`fetch`) the rest. With `options.basePath`, a request under its path
 * goes to its routes instead, with the path taken off (underBasePath). Resolves once bound;
 * rejects on EADDRINUSE.
 */
export async function startHttpServer(
  fetch: FetchHandler,
  fast: (req: IncomingMessage, res: ServerResponse) => boolean,
  host: string,
  port: number,
  options: HttpServerOptions = {},
): Promise<RunningServer> {
  const slow = getRequestListener(fetch as Parameters<typeof getRequestListener>[0]);
  const requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  // Node looks for late requests every connectionsCheckingInterval (30 s by default).
  const connectionsCheckingInterval = Math.max(100, Math.min(30_000, Math.floor(requestTimeoutMs / 4)));
  const atRoot = (req: IncomingMessage, res: ServerResponse): void => {
    if (!fast(req, res)) void slow(req, res);
  };
  const under = options.basePath?.path ? options.basePath : undefined;
  let handler = atRoot;
  if (under) {
    const underSlow = getRequestListener(under.fetch as Parameters<typeof getRequestListener>[0]);
    // One string comparison for a request at the root; the path is taken off before any route
    // (or guard) sees the request, so each compares the path it would compare at the root.
    handler = (req, res) => {
      const rest = underBasePath(req.url ?? '/', under.path);
      if (rest === undefined) return atRoot(req, res);
      req.url = rest;
      if (!under.fast(req, res)) void underSlow(req, res);
    };
  }
  const server = createServer({ connectionsCheckingInterval }, handler);
  // The whole request (headers and body) must arrive within this, or the client gets 408 and
  // the connection closes: a slow-dripping body cannot hold a connection for ever. It bounds
  // receiving the request only: a long SSE answer is not cut (server.test.ts).
  server.requestTimeout = requestTimeoutMs;
  server.headersTimeout = Math.min(60_000, requestTimeoutMs);
  server.keepAliveTimeout = 65_000;
  // Node counts a connection that has sent nothing yet as busy (its headers timeout runs from
  // the connect), so closeIdleConnections leaves it and close waits until the client drops it
  // (fetch opens such a spare when a request follows an aborted stream, and keeps it 4 s).
  // At close such a connection is ended once it has been silent for SILENT_GRACE_MS: one opened
  // a moment before may still be sending its request, which then gets an answer rather
  // than a reset.
  const sockets = new Map<Socket, number>();
  server.on('connection', (socket: Socket) => {
    sockets.set(socket, performance.now());
    socket.once('close', () => sockets.delete(socket));
  });
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
        // Keep-alive connections go as soon as they are idle (a call in flight finishes first);
        // whatever is still open after the grace period is cut.
        const closeIdle = () => {
          server.closeIdleConnections();
          const silentSince = performance.now() - SILENT_GRACE_MS;
          for (const [socket, accepted] of sockets) if (socket.bytesRead === 0 && accepted <= silentSince) socket.destroy();
        };
        const idle = setInterval(closeIdle, 50);
        const hard = setTimeout(() => server.closeAllConnections(), graceMs);
        hard.unref();
        server.close(() => {
          clearInterval(idle);
          clearTimeout(hard);
          resolve();
        });
        closeIdle();
      }),
  };
}
