// Path tokens (auth.tokenInUrl, `/{server}/{token}/mcp`) stay out of the request log when
// publicUrl has a path: clients build discovery URLs from the whole resource path (RFC 9728
// §3.1: `/.well-known/oauth-protected-resource/proxy/echo/{token}/mcp`), and a root request may
// spell the path otherwise (`/PROXY/...` is a root path). DESIGN.md: no token reaches a log line.
import { request as httpRequest } from 'node:http';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/observability/index.js';
import { freePort } from './helpers/free-port.js';
import { rawStdio, startTestGateway } from './helpers/gateway.js';

const TOKEN = 'base-path-token-6c2f9e1a';
const logged: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, done) {
    logged.push(chunk.toString());
    done();
  },
});

function get(base: string, path: string): Promise<number> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path, method: 'GET' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('a path token under publicUrl with a path', () => {
  let gw: Awaited<ReturnType<typeof startTestGateway>>;

  beforeAll(async () => {
    const port = await freePort();
    gw = await startTestGateway(
      { listen: `127.0.0.1:${port}`, publicUrl: `http://127.0.0.1:${port}/proxy`, auth: { mode: 'tokens', tokens: [TOKEN], tokenInUrl: true }, servers: { echo: rawStdio() } },
      { logger: createLogger({ level: 'debug', destination: sink }) },
    );
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
  });

  it('never reaches the request log, however the path is spelt', async () => {
    const paths = [
      `/.well-known/oauth-protected-resource/proxy/echo/${TOKEN}/mcp`,
      `/.well-known/oauth-authorization-server/proxy/echo/${TOKEN}/mcp`,
      `/proxy//echo/${TOKEN}/mcp`,
      `/PROXY/echo/${TOKEN}/mcp`,
      `/proxy/echo/${TOKEN}/sse/`,
      `/echo/${TOKEN}/nothing`,
    ];
    for (const path of paths) await get(gw.base, path);
    await expect.poll(() => logged.join('').split('\n').filter((l) => l.includes('"request"') || l.includes('"path"')).length).toBeGreaterThanOrEqual(paths.length);
    const text = logged.join('');
    expect(text).toContain('[REDACTED]');
    expect(text).not.toContain(TOKEN);
  });
});
