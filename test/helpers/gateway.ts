// Starts a real gateway in-process for integration tests, from a native config document.
import { fileURLToPath } from 'node:url';
import { startGatehouse, type GatehouseApp } from '../../src/app.js';
import { resolveConfig } from '../../src/config/index.js';
import { createLogger, silentLogger, type Logger } from '../../src/observability/index.js';

export const EVERYTHING_FIXTURE = fileURLToPath(new URL('../fixtures/everything-server.ts', import.meta.url));
export const REFERENCE_EVERYTHING = fileURLToPath(
  new URL('../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url),
);

/** The conformance "everything" fixture as a stdio server entry. */
export function everythingStdio(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { command: process.execPath, args: ['--import', 'tsx', EVERYTHING_FIXTURE, '--stdio'], ...extra };
}

export const RAW_FIXTURE = fileURLToPath(new URL('../../src/upstream/test-fixtures/raw-server.mjs', import.meta.url));

/** The raw stdio fixture (no SDK, starts fast; tools chosen by name: echo, crash, slow, state, ...). */
export function rawStdio(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { command: process.execPath, args: [RAW_FIXTURE], ...extra };
}

export async function startTestGateway(
  doc: Record<string, unknown>,
  options: { logger?: Logger } = {},
): Promise<GatehouseApp & { base: string }> {
  const config = resolveConfig(
    { format: 'native', location: 'test', baseDir: process.cwd(), doc: { listen: '127.0.0.1:0', auth: { mode: 'none' }, ...doc } },
    process.env,
  );
  const logger = options.logger ?? (process.env.GATEHOUSE_TEST_LOG ? createLogger({ level: process.env.GATEHOUSE_TEST_LOG }) : silentLogger());
  const app = await startGatehouse({ config, logger });
  return Object.assign(app, { base: app.url });
}

/** A raw POST with JSON-RPC, returning status, headers and the parsed body (JSON or the SSE events). */
export async function rawPost(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; json: unknown; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  if (res.headers.get('content-type')?.includes('text/event-stream')) {
    json = text
      .split('\n')
      .filter((l) => l.startsWith('data: ') && l.length > 6)
      .map((l) => JSON.parse(l.slice(6)) as unknown);
  } else {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  return { status: res.status, headers: res.headers, json, text };
}

export const INIT = (protocolVersion = '2025-06-18') => ({
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion, capabilities: {}, clientInfo: { name: 'raw-test', version: '1' } },
});
