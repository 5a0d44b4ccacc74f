// Headless Chromium for browser tests: playwright-core driving Debian's chromium package
// (`npx playwright install` cannot download a browser here; .ci/run installs `chromium`),
// and a loopback "native app" callback server that captures the authorization response.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { closeServer } from './http-stub.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** As in LIBRARY-NOTES.md: without the background-networking flags Chromium keeps knocking on the closed network. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface HeadlessChromium {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Launches Debian's Chromium with a fresh, empty user data dir. Throws (never skips) when it is not installed. */
export async function launchChromium(): Promise<HeadlessChromium> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_PATH}: this test needs Debian's chromium package ` +
        `(apt-get install -y --no-install-recommends chromium; .ci/run installs it). ` +
        `'npx playwright install' cannot download a browser here.`,
    );
  }
  const userDataDir = mkdtempSync(join(tmpdir(), 'gh-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: 15_000,
    });
    return {
      context,
      async close() {
        try {
          await context.close();
        } finally {
          rmSync(userDataDir, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw err;
  }
}

export interface CallbackServer {
  /** The redirect URI to register: http://127.0.0.1:{port}/callback (RFC 8252 loopback). */
  readonly url: string;
  /** The query of the first request to /callback (code, state, iss, or error). */
  readonly received: Promise<URLSearchParams>;
  close(): Promise<void>;
}

/** A tiny loopback server standing in for a native client's redirect listener. */
export async function startCallbackServer(): Promise<CallbackServer> {
  let resolve!: (query: URLSearchParams) => void;
  const received = new Promise<URLSearchParams>((r) => (resolve = r));
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/callback') {
      res.writeHead(404).end();
      return;
    }
    resolve(url.searchParams);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>Done</title><p>Signed in; you can close this window.</p>');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/callback`,
    received,
    close: () => closeServer(server),
  };
}
