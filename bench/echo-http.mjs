#!/usr/bin/env node
// The benchmark's echo MCP server served over Streamable HTTP by a raw node `http` server:
// stateful sessions (initialize hands out `Mcp-Session-Id`), JSON responses only, no SDK.
// It is both the "direct" baseline and the HTTP upstream behind the gateway.
//
//   node bench/echo-http.mjs [--port N] [--host 127.0.0.1] [--path /mcp]
//
// Prints `listening <port>` on stdout once it accepts connections (port 0 = any free port).
// POST <path>: JSON-RPC (single or batch); GET: 405 (no server-initiated stream);
// DELETE: ends the session. Missing session id: 400; unknown: 404.

import process from 'node:process';
import { Buffer } from 'node:buffer';
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { answer } from './echo-core.mjs';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i !== -1 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const host = arg('host', '127.0.0.1');
const port = Number(arg('port', '0'));
const path = arg('path', '/mcp');
const MAX_BODY = 4 * 1024 * 1024;

/** session id -> negotiated protocol version */
const sessions = new Map();

function send(res, status, body, headers = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

const rpcError = (code, message, id = null) => ({ jsonrpc: '2.0', id, error: { code, message } });

function handlePost(req, res, raw) {
  let msg;
  try {
    msg = JSON.parse(raw);
  } catch {
    send(res, 400, rpcError(-32700, 'Parse error'));
    return;
  }
  const batch = Array.isArray(msg);
  const messages = batch ? msg : [msg];
  if (messages.length === 0 || messages.some((m) => m === null || typeof m !== 'object' || m.jsonrpc !== '2.0')) {
    send(res, 400, rpcError(-32600, 'Invalid Request'));
    return;
  }

  const init = messages.find((m) => m.method === 'initialize');
  if (init) {
    if (batch) {
      send(res, 400, rpcError(-32600, 'initialize must not be batched'));
      return;
    }
    const reply = answer(init);
    const id = randomUUID();
    sessions.set(id, reply.result.protocolVersion);
    send(res, 200, reply, { 'mcp-session-id': id });
    return;
  }

  const sid = req.headers['mcp-session-id'];
  if (typeof sid !== 'string' || sid === '') {
    send(res, 400, rpcError(-32000, 'Bad Request: Mcp-Session-Id header is required'));
    return;
  }
  if (!sessions.has(sid)) {
    send(res, 404, rpcError(-32001, 'Session not found'));
    return;
  }

  const replies = [];
  for (const m of messages) {
    const reply = answer(m);
    if (reply !== undefined) replies.push(reply);
  }
  if (replies.length === 0) {
    res.writeHead(202);
    res.end();
    return;
  }
  send(res, 200, batch ? replies : replies[0]);
}

const server = createServer((req, res) => {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const pathname = q === -1 ? url : url.slice(0, q);
  if (pathname !== path) {
    send(res, 404, { error: 'not_found' });
    return;
  }
  if (req.method === 'POST') {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        send(res, 413, rpcError(-32600, 'body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (size <= MAX_BODY) handlePost(req, res, chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    });
    return;
  }
  if (req.method === 'DELETE') {
    const sid = req.headers['mcp-session-id'];
    if (typeof sid !== 'string' || !sessions.delete(sid)) {
      send(res, 404, rpcError(-32001, 'Session not found'));
      return;
    }
    res.writeHead(200);
    res.end();
    return;
  }
  // GET (server-initiated event stream) is not offered; the spec allows 405.
  res.writeHead(405, { allow: 'POST, DELETE' });
  res.end();
});

server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.listen(port, host, () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : port}\n`);
});

const stop = () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
