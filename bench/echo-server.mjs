#!/usr/bin/env node
// A deliberately cheap stdio MCP server for the benchmark: newline-delimited JSON-RPC on
// stdin/stdout, no SDK. It answers initialize, ping, tools/list and tools/call `echo`
// (returning its `text` argument); notifications are ignored, anything else is "method
// not found". It exits when stdin closes.
//
// Replies to everything that arrived in one stdin chunk are written with one write().

import process from 'node:process';
import { answer } from './echo-core.mjs';

let buffered = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffered += chunk;
  let out = '';
  let start = 0;
  let nl;
  while ((nl = buffered.indexOf('\n', start)) !== -1) {
    const line = buffered.slice(start, nl).trim();
    start = nl + 1;
    if (!line) continue;
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      out += JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } }) + '\n';
      continue;
    }
    if (Array.isArray(msg)) {
      const replies = msg.map(answer).filter((r) => r !== undefined);
      if (replies.length) out += JSON.stringify(replies) + '\n';
    } else {
      const reply = answer(msg);
      if (reply) out += JSON.stringify(reply) + '\n';
    }
  }
  buffered = buffered.slice(start);
  if (out) process.stdout.write(out);
});
process.stdin.on('end', () => process.exit(0));
process.stdout.on('error', () => process.exit(0));
