import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { constantTimeEqual } from '../../crypto/index.js';

/** What the authorization server sent back to the redirect URI. */
export interface AuthorizationResponse {
  readonly code: string;
  /** RFC 9207 `iss`, when present. */
  readonly iss: string | undefined;
}

/** The authorization server answered with an error (`error=access_denied`, ...). */
export class AuthorizationResponseError extends Error {
  readonly error: string;
  constructor(error: string, description: string | undefined) {
    super(`the authorization server refused the login: ${error}${description ? ` (${description})` : ''}`);
    this.name = 'AuthorizationResponseError';
    this.error = error;
  }
}

export const CALLBACK_PATH = '/callback';

const PAGE = (title: string, text: string): string =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
  `<title>${title}</title></head><body style="font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem">` +
  `<h1 style="font-size:1.4rem">${title}</h1><p>${text}</p></body></html>`;

const HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
};

/**
 * RFC 8252 loopback redirect listener on 127.0.0.1. Only `GET /callback` with the Host this
 * listener was given (DNS rebinding) and the `state` of the current login is accepted; a
 * request with another state gets 400 and does not end the wait.
 */
export class CallbackServer {
  readonly #server: Server;
  #port = 0;
  #expectedState: string | undefined;
  #waiter: { resolve: (r: AuthorizationResponse) => void; reject: (e: Error) => void } | undefined;
  #timer: NodeJS.Timeout | undefined;

  private constructor() {
    this.#server = createServer((req, res) => {
      const host = req.headers.host ?? '';
      if (host !== `127.0.0.1:${this.#port}` && host !== `localhost:${this.#port}`) {
        res.writeHead(421, HEADERS).end(PAGE('Wrong host', 'This listener only answers on 127.0.0.1.'));
        return;
      }
      const url = new URL(req.url ?? '/', `http://127.0.0.1:${this.#port}`);
      if (req.method !== 'GET' || url.pathname !== CALLBACK_PATH) {
        res.writeHead(404, HEADERS).end(PAGE('Not found', 'Nothing here.'));
        return;
      }
      const state = url.searchParams.get('state') ?? '';
      const expected = this.#expectedState;
      if (expected === undefined || this.#waiter === undefined || !constantTimeEqual(state, expected)) {
        res.writeHead(400, HEADERS).end(PAGE('Login not recognised', 'This answer does not belong to a login in progress. Start the login again.'));
        return;
      }
      const waiter = this.#waiter;
      this.#waiter = undefined;
      this.#expectedState = undefined;
      const error = url.searchParams.get('error');
      if (error !== null) {
        res.writeHead(400, HEADERS).end(PAGE('Login refused', 'The authorization server refused the login. You may close this tab.'));
        waiter.reject(new AuthorizationResponseError(error, url.searchParams.get('error_description') ?? undefined));
        return;
      }
      const code = url.searchParams.get('code');
      if (code === null || code === '') {
        res.writeHead(400, HEADERS).end(PAGE('Login failed', 'The answer carried no authorization code. You may close this tab.'));
        waiter.reject(new Error('the authorization response carried no code'));
        return;
      }
      res.writeHead(200, HEADERS).end(PAGE('Logged in', 'Gatehouse is connected. You may close this tab.'));
      waiter.resolve({ code, iss: url.searchParams.get('iss') ?? undefined });
    });
    this.#server.keepAliveTimeout = 1_000;
  }

  /** Listens on 127.0.0.1 at `port` (0: any free port). */
  static async start(port = 0): Promise<CallbackServer> {
    const cb = new CallbackServer();
    await new Promise<void>((resolve, reject) => {
      cb.#server.once('error', reject);
      cb.#server.listen(port, '127.0.0.1', () => {
        cb.#server.off('error', reject);
        resolve();
      });
    });
    cb.#port = (cb.#server.address() as AddressInfo).port;
    return cb;
  }

  get port(): number {
    return this.#port;
  }

  get redirectUrl(): string {
    return `http://127.0.0.1:${this.#port}${CALLBACK_PATH}`;
  }

  /** Arms the listener for one login with this `state`. Call before sending the person to the AS. */
  expect(state: string): void {
    this.#expectedState = state;
  }

  /** Waits for the answer to the armed login, or rejects after `timeoutMs`. */
  wait(timeoutMs: number): Promise<AuthorizationResponse> {
    return new Promise<AuthorizationResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new Error(`no answer from the browser login within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.#timer = timer;
      this.#waiter = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  /** Stops listening; a login still waiting is rejected. */
  async close(): Promise<void> {
    clearTimeout(this.#timer);
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(new Error('the login callback listener was closed'));
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
