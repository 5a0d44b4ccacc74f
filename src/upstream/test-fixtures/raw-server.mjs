#!/usr/bin/env node
// A raw stdio MCP server for the upstream tests: no SDK, so it starts in a few milliseconds.
// What it does is chosen by tool name (see TOOLS); `state` reports what it saw, so tests
// can check what reached the server (ids, cancellations, subscriptions).
//
// Environment switches:
//   FIXTURE_EXIT_ON_START=N   exit with code N before reading anything
//   FIXTURE_IGNORE_EOF=1      keep running after stdin closes (so close() must signal)
//   FIXTURE_IGNORE_SIGTERM=1  ignore SIGTERM too (so close() must SIGKILL)
//   FIXTURE_REFUSE_INIT=1     answer initialize with a JSON-RPC error
//   FIXTURE_VALUE=...         reported by `whoami` (env merging)
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

if (process.env.FIXTURE_EXIT_ON_START) {
  process.stderr.write('raw-fixture: exiting at start as asked\n');
  process.exit(Number(process.env.FIXTURE_EXIT_ON_START));
}
if (process.env.FIXTURE_IGNORE_SIGTERM) process.on('SIGTERM', () => process.stderr.write('raw-fixture: ignoring SIGTERM\n'));
process.stderr.write(`raw-fixture started pid=${process.pid}\n`);

const state = { ids: [], tools: [], started: [], cancelled: [], subscribes: [], unsubscribes: [], initialized: false };
let initParams;
let nextId = 1;
const waiting = new Map();
const running = new Map();

const send = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);
const reply = (id, result) => send({ jsonrpc: '2.0', id, result });
const fail = (id, code, message) => send({ jsonrpc: '2.0', id, error: { code, message } });
const text = (value) => ({ content: [{ type: 'text', text: typeof value === 'string' ? value : JSON.stringify(value) }] });
const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
const ask = (method, params) => {
  const id = `s${nextId++}`;
  send(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params });
  return new Promise((resolve) => waiting.set(id, resolve));
};

const TOOLS = {
  echo: async (args) => text(args),
  whoami: async () =>
    text({
      pid: process.pid,
      clientInfo: initParams?.clientInfo,
      protocolVersion: initParams?.protocolVersion,
      capabilities: initParams?.capabilities,
      value: process.env.FIXTURE_VALUE,
      cwd: process.cwd(),
    }),
  /** The named environment variables as the child sees them (null: not set). */
  env: async (args) => text(Object.fromEntries((args.names ?? []).map((name) => [name, process.env[name] ?? null]))),
  slow: (args, id) =>
    new Promise((resolve) => {
      state.started.push(id);
      const timer = setTimeout(() => {
        running.delete(id);
        resolve(text({ id, ms: args.ms }));
      }, args.ms ?? 1000);
      running.set(id, timer);
    }),
  progress: async (args, _id, meta) => {
    const token = meta?.progressToken;
    const steps = args.steps ?? 3;
    for (let i = 1; i <= steps; i++) {
      send({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: token, progress: i, total: steps } });
      await tick();
    }
    return text({ token });
  },
  progress_slow: async (args, _id, meta) => {
    const token = meta?.progressToken;
    send({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: token, progress: 1, total: 2 } });
    await new Promise((resolve) => setTimeout(resolve, args.ms ?? 300));
    send({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: token, progress: 2, total: 2 } });
    return text('done slowly');
  },
  crash: async (args) => {
    process.stderr.write('raw-fixture: crashing as asked\n');
    process.exit(args.code ?? 1);
  },
  sample: async () => text(await ask('sampling/createMessage', { messages: [{ role: 'user', content: { type: 'text', text: 'hi' } }], maxTokens: 5 })),
  roots: async () => text(await ask('roots/list')),
  ping_client: async () => text({ pong: await ask('ping') }),
  sample_then_cancel: async () => {
    const id = `s${nextId}`;
    void ask('sampling/createMessage', { messages: [], maxTokens: 1 });
    await tick();
    send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'changed my mind' } });
    waiting.delete(id);
    return text('cancelled');
  },
  elicit_url: async () => {
    const answer = await ask('elicitation/create', { mode: 'url', elicitationId: 'e-1', url: 'https://example.com/x', message: 'go there' });
    send({ jsonrpc: '2.0', method: 'notifications/elicitation/complete', params: { elicitationId: 'e-1' } });
    return text(answer);
  },
  log: async (args) => {
    send({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: args.message ?? 'hello' } });
    return text('logged');
  },
  list_changed: async () => {
    send({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
    return text('changed');
  },
  update: async (args) => {
    send({ jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri: args.uri } });
    return text('updated');
  },
  state: async () => text(state),
  stderr: async (args) => {
    process.stderr.write(`${args.line}\n`);
    return text('written');
  },
  garbage: async () => {
    process.stdout.write('this is not json\n');
    process.stdout.write('{"jsonrpc":"1.0","method":"bad"}\n');
    return text('after garbage');
  },
  split: async (_args, id) => {
    // One reply cut in three writes, then two messages in one write.
    const line = JSON.stringify({ jsonrpc: '2.0', id, result: text('ünïcödé split reply') });
    const bytes = Buffer.from(`${line}\n`);
    const cut = bytes.indexOf(Buffer.from('ü')) + 1; // inside a two-byte character
    process.stdout.write(bytes.subarray(0, cut));
    await tick();
    process.stdout.write(bytes.subarray(cut, cut + 10));
    await tick();
    process.stdout.write(
      Buffer.concat([
        bytes.subarray(cut + 10),
        Buffer.from(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'one' } })}\r\n`),
        Buffer.from(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'two' } })}\n`),
      ]),
    );
    return undefined; // answered above
  },
  big: async (args) => {
    process.stdout.write('a'.repeat(args.bytes ?? 10_000));
    return new Promise(() => {}); // never answers
  },
  grandchild: async () => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    return text({ pid: child.pid });
  },
};

async function onRequest(msg) {
  const { id, method, params } = msg;
  state.ids.push(id);
  switch (method) {
    case 'initialize':
      if (process.env.FIXTURE_REFUSE_INIT) return fail(id, -32602, 'unsupported protocol version');
      initParams = params;
      return reply(id, {
        protocolVersion: params.protocolVersion,
        capabilities: { tools: { listChanged: true }, resources: { subscribe: true, listChanged: true }, logging: {} },
        serverInfo: { name: 'raw-fixture', version: '1.0.0', pid: process.pid },
      });
    case 'ping':
      return reply(id, {});
    case 'tools/list':
      return reply(id, { tools: Object.keys(TOOLS).map((name) => ({ name, inputSchema: { type: 'object' } })) });
    case 'resources/subscribe':
      state.subscribes.push(params.uri);
      return reply(id, {});
    case 'resources/unsubscribe':
      state.unsubscribes.push(params.uri);
      return reply(id, {});
    case 'tools/call': {
      const tool = TOOLS[params?.name];
      state.tools.push(params?.name);
      if (!tool) return fail(id, -32602, `unknown tool ${params?.name}`);
      const result = await tool(params.arguments ?? {}, id, params._meta);
      if (result !== undefined && !state.cancelled.includes(id)) reply(id, result);
      return;
    }
    default:
      return fail(id, -32601, `method not found: ${method}`);
  }
}

function onNotification(msg) {
  if (msg.method === 'notifications/initialized') state.initialized = true;
  if (msg.method === 'notifications/cancelled') {
    const rid = msg.params?.requestId;
    state.cancelled.push(rid);
    const timer = running.get(rid);
    if (timer) {
      clearTimeout(timer);
      running.delete(rid);
    }
  }
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', (line) => {
  if (line.trim() === '') return;
  const msg = JSON.parse(line);
  if (msg.method !== undefined && msg.id !== undefined) void onRequest(msg);
  else if (msg.method !== undefined) onNotification(msg);
  else {
    const resolve = waiting.get(msg.id);
    waiting.delete(msg.id);
    resolve?.(msg.error ? { error: msg.error } : msg.result);
  }
});
lines.on('close', () => {
  if (process.env.FIXTURE_IGNORE_EOF || process.env.FIXTURE_IGNORE_SIGTERM) {
    setInterval(() => {}, 1000);
    return;
  }
  process.exit(0);
});
