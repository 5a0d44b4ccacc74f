#!/usr/bin/env node
// The floor of any HTTP-to-HTTP MCP proxy written on Node: node:http in, an undici keep-alive
// pool out, bytes passed through untouched (no JSON parsing, no sessions, no SSE parsing, no
// checks). Nothing Gatehouse does per call is here, so its calls/s bound what the gateway
// can reach in front of an HTTP upstream on this machine. A bench reference, not a product.
//
//   node bench/floor-proxy.mjs UPSTREAM_URL [--port N]     prints `listening <port>`

import process from 'node:process';
import { createServer } from 'node:http';
import { Pool } from 'undici';

const upstream = new URL(process.argv[2] ?? '');
const portArg = process.argv.indexOf('--port');
const port = portArg === -1 ? 0 : Number(process.argv[portArg + 1]);
const pool = new Pool(upstream.origin, { connections: 256, pipelining: 1 });
const PASS_UP = ['content-type', 'accept', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id', 'authorization'];
const PASS_DOWN = ['content-type', 'mcp-session-id', 'cache-control'];

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const headers = {};
    for (const name of PASS_UP) if (req.headers[name] !== undefined) headers[name] = req.headers[name];
    pool
      .request({ path: upstream.pathname, method: req.method, headers, body: req.method === 'GET' ? undefined : Buffer.concat(chunks) })
      .then((up) => {
        const out = {};
        for (const name of PASS_DOWN) if (up.headers[name] !== undefined) out[name] = up.headers[name];
        res.writeHead(up.statusCode, out);
        up.body.on('data', (c) => res.write(c));
        up.body.on('end', () => res.end());
        up.body.on('error', () => res.destroy());
      })
      .catch(() => {
        res.writeHead(502).end();
      });
  });
});
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : port}\n`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
