// Small pieces every stand-in HTTP server of the tests needs.
import type { IncomingMessage, Server } from 'node:http';

/** A request's whole body as text. */
export function requestText(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = '';
    req.on('data', (d: Buffer) => (s += d.toString()));
    req.on('end', () => resolve(s));
    req.on('error', reject);
  });
}

/** Closes the server now, keep-alive and streaming connections included. */
export function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
}
