#!/usr/bin/env node
// The same echo tool written the usual way, with the official MCP SDK v2: the kind of
// upstream most people run. Used by `npm run bench -- --upstream sdk`.
//
//   node bench/echo-sdk.mjs                      stdio (serveStdio)
//   node bench/echo-sdk.mjs --http [--port N]    Streamable HTTP, stateful sessions, SDK defaults
//                                                 (SSE-framed responses); prints `listening <port>`

import process from 'node:process';
import { Buffer } from 'node:buffer';
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { McpServer, isInitializeRequest } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import { z } from 'zod';

function createEchoServer() {
  const server = new McpServer({ name: 'bench-echo-sdk', version: '1.0.0' });
  server.registerTool(
    'echo',
    { description: 'Returns the text it was given.', inputSchema: z.object({ text: z.string() }) },
    ({ text }) => ({ content: [{ type: 'text', text }] }),
  );
  return server;
}

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i !== -1 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

if (!process.argv.includes('--http')) {
  serveStdio(createEchoServer);
} else {
  const path = arg('path', '/mcp');
  /** @type {Map<string, NodeStreamableHTTPServerTransport>} */
  const transports = new Map();

  const readJson = (req) =>
    new Promise((resolve, reject) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (err) {
          reject(err);
        }
      });
      req.on('error', reject);
    });

  const fail = (res, status, message) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message } }));
  };

  const http = createServer(async (req, res) => {
    try {
      if ((req.url ?? '').split('?')[0] !== path) return fail(res, 404, 'not found');
      const sid = req.headers['mcp-session-id'];
      if (req.method === 'POST') {
        const body = await readJson(req);
        let transport = typeof sid === 'string' ? transports.get(sid) : undefined;
        if (!transport) {
          if (typeof sid === 'string') return fail(res, 404, 'Session not found');
          if (!isInitializeRequest(body)) return fail(res, 400, 'Mcp-Session-Id header is required');
          const t = new NodeStreamableHTTPServerTransport({
            sessionIdGenerator: () => randomUUID(),
            onsessioninitialized: (id) => transports.set(id, t),
          });
          t.onclose = () => {
            if (t.sessionId) transports.delete(t.sessionId);
          };
          await createEchoServer().connect(t);
          transport = t;
        }
        await transport.handleRequest(req, res, body);
        return;
      }
      const transport = typeof sid === 'string' ? transports.get(sid) : undefined;
      if (!transport) return fail(res, typeof sid === 'string' ? 404 : 400, 'Session not found');
      await transport.handleRequest(req, res);
    } catch (err) {
      if (!res.headersSent) fail(res, 400, String(err instanceof Error ? err.message : err));
    }
  });
  http.keepAliveTimeout = 65_000;
  http.listen(Number(arg('port', '0')), arg('host', '127.0.0.1'), () => {
    const address = http.address();
    process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
  });
  const stop = () => {
    http.close();
    http.closeAllConnections();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
