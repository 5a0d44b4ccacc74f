// TBXark mcp-proxy's command line (seed 003): `-config FILE` (one dash, Go style) and `-insecure`
// ("allow insecure HTTPS connections by skipping TLS certificate verification") on a real
// `gatehouse serve`. An https server with a self-signed certificate (openssl) serves both the
// config (`--config https://...`) and a remote MCP server (SDK v2, stateless JSON) that the
// config lists without any tls setting: --insecure fetches the config and reaches the server,
// with a warning at start naming both; without it, both are refused.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { Client } from '@modelcontextprotocol/client';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import { McpServer } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';

import { CLI, runCli, servesKilledAfterEach, startServe, tempRoot, TSX } from './helpers/cli.js';
import { closeServer, requestText } from './helpers/http-stub.js';
import { hasOpenssl } from './helpers/openssl.js';


const { freshDir, remove } = tempRoot('gh-insecure-');
const serving = servesKilledAfterEach();
let https: Server;
let origin: string;

/** A TBXark mcp-proxy file whose one remote server is the self-signed https one. */
const tbxark = () => ({ mcpProxy: { addr: '127.0.0.1:0' }, mcpServers: { sec: { url: `${origin}/mcp`, transportType: 'streamable-http' } } });

beforeAll(async () => {
  if (!hasOpenssl) return;
  const dir = freshDir();
  const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
  https = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
    void (async () => {
      if (req.url === '/tbx.json') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(tbxark()));
        return;
      }
      const body = req.method === 'POST' ? (JSON.parse(await requestText(req)) as unknown) : undefined;
      const server = new McpServer({ name: 'self-signed', version: '1.0.0' });
      server.registerTool('echo', { description: 'Echoes its text', inputSchema: z.object({ text: z.string() }) }, ({ text }) => ({ content: [{ type: 'text', text: `echo: ${text}` }] }));
      const transport = new NodeStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    })().catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
  origin = `https://127.0.0.1:${(https.address() as AddressInfo).port}`;
});

afterAll(async () => {
  if (https) await closeServer(https);
  remove();
});

/** tools/call echo on the gateway's route for `sec`: its text, or the error. */
async function echoThrough(base: string): Promise<string> {
  const client = new Client({ name: 'insecure-test', version: '1.0.0' });
  try {
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/sec/mcp`)));
    const result = await client.callTool({ name: 'echo', arguments: { text: 'through' } });
    return JSON.stringify(result.content);
  } catch (error) {
    return `error: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    await client.close().catch(() => undefined);
  }
}

/**
 * `gatehouse serve ARGS...` until a whole line of its stderr matches `until`, then stopped: at
 * log level error there is no "listening" line for startServe to wait for.
 */
async function serveStderrUntil(args: string[], cwd: string, until: RegExp): Promise<string> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'MCP_GATEHOUSE_CONFIG'));
  const child = spawn(process.execPath, ['--import', TSX, CLI, 'serve', ...args], { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no line matching ${until} within 20 s:\n${err}`)), 20_000);
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.split('\n').slice(0, -1).some((line) => until.test(line))) {
          clearTimeout(timer);
          resolve(err);
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`serve exited with ${code}:\n${err}`));
      });
    });
  } finally {
    child.kill('SIGKILL');
  }
}

describe.skipIf(!hasOpenssl)('serve -config FILE -insecure (TBXark mcp-proxy)', () => {
  it('-config FILE -insecure: the file is read, the self-signed server is reached, and the start warns naming it', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'tbx.json'), JSON.stringify(tbxark()));
    const run = await startServe(['-config', 'tbx.json', '-insecure'], dir);
    serving.push(run);
    expect(await echoThrough(run.base)).toContain('echo: through');
    expect(run.stderr()).toMatch(/"level":"warn"[^\n]*INSECURE: --insecure is on: TLS certificates are not verified for remote server sec;/);
    // An OAuth token endpoint on the server's own origin goes through the same unverified agent (http-client.ts).
    expect(run.stderr()).toContain(
      "anyone on the network path can read and change that traffic (an OAuth token endpoint on another origin stays verified; one on the server's own origin shares its TLS settings: client secrets go over the unverified connection)",
    );
  });

  it('warns whatever the log level: with --log-level error or log.level silent, as a plain line on stderr', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'tbx.json'), JSON.stringify(tbxark()));
    const quiet = await serveStderrUntil(['--config', 'tbx.json', '--insecure', '--log-level', 'error'], dir, /INSECURE/);
    expect(quiet).toMatch(/^warning: INSECURE: --insecure is on: TLS certificates are not verified for remote server sec;/m);
    const native = { listen: '127.0.0.1:0', auth: { mode: 'none' }, log: { level: 'silent' }, servers: { sec: { url: `${origin}/mcp` } } };
    writeFileSync(join(dir, 'gatehouse.json'), JSON.stringify(native));
    const silent = await serveStderrUntil(['--config', 'gatehouse.json', '--insecure'], dir, /INSECURE/);
    expect(silent).toMatch(/^warning: INSECURE: --insecure is on: TLS certificates are not verified for remote server sec;/m);
  });

  it('without -insecure the same file starts, but the self-signed server is refused (tls.rejectUnauthorized stays true)', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'tbx.json'), JSON.stringify(tbxark()));
    const run = await startServe(['-config', 'tbx.json'], dir);
    serving.push(run);
    expect(await echoThrough(run.base)).not.toContain('echo: through');
    expect(run.stderr()).not.toContain('INSECURE');
  });

  it('a server that sets tls.rejectUnauthorized itself keeps it under --insecure', async () => {
    const dir = freshDir();
    const native = { listen: '127.0.0.1:0', auth: { mode: 'none' }, servers: { sec: { url: `${origin}/mcp`, tls: { rejectUnauthorized: true } } } };
    writeFileSync(join(dir, 'gatehouse.json'), JSON.stringify(native));
    const run = await startServe(['--config', 'gatehouse.json', '--insecure'], dir);
    serving.push(run);
    expect(await echoThrough(run.base)).not.toContain('echo: through');
    expect(run.stderr()).toContain('TLS certificates are not verified for nothing here');
  });

  it('--config https://... --insecure: the config is fetched without checking the certificate', async () => {
    const run = await startServe(['--config', `${origin}/tbx.json`, '--insecure'], freshDir());
    serving.push(run);
    expect(run.stderr()).toContain(`TLS certificates are not verified for the config URL ${origin}/tbx.json and remote server sec;`);
    expect(await echoThrough(run.base)).toContain('echo: through');
  });

  it('--config https://... without --insecure: exit 2, naming the certificate problem and the flag', async () => {
    const run = await runCli(['serve', '-config', `${origin}/tbx.json`], { cwd: freshDir() });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`cannot fetch ${origin}/tbx.json: fetch failed: self-signed certificate (serve --insecure skips the certificate check)`);
  });
});
