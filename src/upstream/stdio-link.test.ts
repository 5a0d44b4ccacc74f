import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResolvedStdioServer } from '../config/resolved.js';
import type { JsonRpcMessage } from '../jsonrpc/index.js';
import { createLogger, silentLogger, type Logger } from '../observability/index.js';
import { UpstreamError } from './errors.js';
import { createStdioLinkFactory, type StdioLinkOptions } from './stdio-link.js';
import type { Link } from './types.js';

/** A message as the tests read it off the wire: loose on purpose, so assertions reach any field. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Wire = any;

const FIXTURE = fileURLToPath(new URL('./test-fixtures/raw-server.mjs', import.meta.url));

function fixtureServer(env: Record<string, string> = {}, extra: Partial<ResolvedStdioServer> = {}): ResolvedStdioServer {
  return {
    kind: 'stdio',
    name: 'raw',
    command: process.execPath,
    args: [FIXTURE],
    env,
    cwd: undefined,
    sharing: 'shared',
    tools: undefined,
    tokens: undefined,
    description: undefined,
    ...extra,
  };
}

/** A logger whose JSON lines the test can read. */
function captureLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger({ level: 'debug', destination });
  const lines = () =>
    out
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines };
}

interface Opened {
  link: Link;
  messages: JsonRpcMessage[];
  closed: Promise<Error>;
  closeCount: () => number;
  next: (pred: (m: Wire) => boolean) => Promise<Wire>;
  pid: number;
}

const links: Link[] = [];
afterEach(async () => {
  await Promise.all(links.splice(0).map((l) => l.close()));
});

async function open(server: ResolvedStdioServer, logger: Logger = silentLogger(), options: StdioLinkOptions = {}): Promise<Opened> {
  const messages: JsonRpcMessage[] = [];
  const waiters: { pred: (m: Wire) => boolean; resolve: (m: Wire) => void }[] = [];
  let closeCount = 0;
  let onClosed!: (e: Error) => void;
  const closed = new Promise<Error>((resolve) => (onClosed = resolve));
  const factory = createStdioLinkFactory(server, logger, { killGraceMs: 500, ...options });
  const link = await factory({
    onMessage(m) {
      messages.push(m);
      for (const w of [...waiters]) {
        if (w.pred(m)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    },
    onClose(reason) {
      closeCount++;
      onClosed(reason);
    },
  });
  links.push(link);
  const next = (pred: (m: Wire) => boolean) =>
    new Promise<Wire>((resolve) => {
      const found = messages.find(pred);
      if (found) resolve(found);
      else waiters.push({ pred, resolve });
    });
  const pid = Number(/pid (\d+)/.exec(link.description)?.[1]);
  return { link, messages, closed, closeCount: () => closeCount, next, pid };
}

const textOf = (reply: Wire): Wire => JSON.parse(String(reply.result.content[0].text));

async function call(o: Opened, id: number, name: string, args: Record<string, unknown> = {}): Promise<Wire> {
  await o.link.send({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });
  return o.next((m) => m.id === id && !('method' in m));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // A zombie nobody reaped yet (no init in some containers) counts as dead.
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

async function waitDead(pid: number, ms = 5000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!isAlive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return !isAlive(pid);
}

describe('stdio link', () => {
  it('frames messages cut across chunks and several per chunk, CRLF included', async () => {
    const o = await open(fixtureServer());
    const reply = await call(o, 1, 'split');
    expect(reply.result.content[0].text).toBe('ünïcödé split reply');
    const logs = await Promise.all([
      o.next((m) => m.method === 'notifications/message' && m.params.data === 'one'),
      o.next((m) => m.method === 'notifications/message' && m.params.data === 'two'),
    ]);
    expect(logs).toHaveLength(2);
  });

  it('skips and logs lines that are not JSON-RPC, and keeps going', async () => {
    const { logger, lines } = captureLogger();
    const o = await open(fixtureServer(), logger);
    const reply = await call(o, 1, 'garbage');
    expect(reply.result.content[0].text).toBe('after garbage');
    const warnings = lines().filter((l) => l.level === 'warn');
    expect(warnings.some((l) => String(l.msg).includes('not JSON') && l.line === 'this is not json')).toBe(true);
    expect(warnings.some((l) => String(l.msg).includes('not a JSON-RPC message'))).toBe(true);
  });

  it('sends the child\'s stderr to the logger line by line, under the upstream\'s name', async () => {
    const { logger, lines } = captureLogger();
    const o = await open(fixtureServer(), logger);
    await call(o, 1, 'stderr', { line: 'hello from stderr' });
    await call(o, 2, 'stderr', { line: 'Error: something broke' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const stderr = lines().filter((l) => l.stream === 'stderr');
    expect(stderr.find((l) => l.msg === 'hello from stderr')).toMatchObject({ upstream: 'raw', level: 'info' });
    expect(stderr.find((l) => l.msg === 'Error: something broke')).toMatchObject({ upstream: 'raw', level: 'warn' });
  });

  it('merges env over the gateway\'s environment and honours cwd', async () => {
    const dir = tmpdir();
    const o = await open(fixtureServer({ FIXTURE_VALUE: 'from-config' }, { cwd: dir }));
    const who = textOf(await call(o, 1, 'whoami'));
    expect(who.value).toBe('from-config');
    expect(who.cwd).toBe(dir);
  });

  it('fails the link on a line over maxLineBytes, with a clear error, and stops the process', async () => {
    const o = await open(fixtureServer(), silentLogger(), { maxLineBytes: 1024 });
    await o.link.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'big', arguments: { bytes: 5000 } } });
    const reason = await o.closed;
    expect(reason).toBeInstanceOf(UpstreamError);
    expect((reason as UpstreamError).code).toBe('line_too_long');
    expect(reason.message).toBe('upstream "raw" sent a message line longer than 1024 bytes');
    expect(await waitDead(o.pid)).toBe(true);
    await expect(o.link.send({ jsonrpc: '2.0', method: 'x' })).rejects.toThrow('longer than 1024 bytes');
    expect(o.closeCount()).toBe(1);
  });

  it('reports an exit once, with code and the last stderr lines', async () => {
    const o = await open(fixtureServer());
    await o.link.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'crash', arguments: { code: 3 } } });
    const reason = (await o.closed) as UpstreamError;
    expect(reason.message).toBe('upstream "raw" exited (code 3)');
    expect(reason.exitCode).toBe(3);
    expect(reason.stderrTail?.some((l) => l.includes('crashing as asked'))).toBe(true);
    await o.link.close();
    expect(o.closeCount()).toBe(1);
  });

  it('refuses to start a missing command with "command not found"', async () => {
    const factory = createStdioLinkFactory(fixtureServer({}, { command: 'gatehouse-no-such-command-xyz' }), silentLogger());
    const error = await factory({ onMessage: () => undefined, onClose: () => undefined }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).code).toBe('command_not_found');
    expect((error as Error).message).toBe('upstream "raw" could not start: command not found: gatehouse-no-such-command-xyz');
  });

  it('names a missing working directory rather than the command', async () => {
    const factory = createStdioLinkFactory(fixtureServer({}, { cwd: '/no/such/dir/here' }), silentLogger());
    await expect(factory({ onMessage: () => undefined, onClose: () => undefined })).rejects.toThrow('working directory not found: /no/such/dir/here');
  });

  it('close() ends a child that exits on EOF without signals', async () => {
    const o = await open(fixtureServer());
    await o.link.close();
    const reason = (await o.closed) as UpstreamError;
    expect(reason.code).toBe('closed');
    expect(isAlive(o.pid)).toBe(false);
    await expect(o.link.send({ jsonrpc: '2.0', method: 'x' })).rejects.toThrow('closed');
  });

  it('close() escalates to SIGTERM, then SIGKILL, and resolves once the process is gone', async () => {
    const eof = await open(fixtureServer({ FIXTURE_IGNORE_EOF: '1' }));
    await call(eof, 1, 'echo');
    await eof.link.close();
    expect(isAlive(eof.pid)).toBe(false);

    const { logger, lines } = captureLogger();
    const stubborn = await open(fixtureServer({ FIXTURE_IGNORE_SIGTERM: '1' }), logger, { stdinCloseGraceMs: 50, killGraceMs: 200 });
    await call(stubborn, 1, 'echo'); // its SIGTERM handler is installed by now
    await stubborn.link.close();
    expect(isAlive(stubborn.pid)).toBe(false);
    expect(lines().some((l) => String(l.msg).includes('SIGKILL'))).toBe(true);
    expect(stubborn.closeCount()).toBe(1);
  });

  it('close() also stops what the child started (no orphans)', async () => {
    const o = await open(fixtureServer({ FIXTURE_IGNORE_EOF: '1' }));
    const { pid: grandchild } = textOf(await call(o, 1, 'grandchild')) as { pid: number };
    expect(isAlive(grandchild)).toBe(true);
    await o.link.close();
    expect(await waitDead(o.pid)).toBe(true);
    expect(await waitDead(grandchild)).toBe(true);
  });

  it('stops what the child started when the child dies on its own', async () => {
    const o = await open(fixtureServer());
    const { pid: grandchild } = textOf(await call(o, 1, 'grandchild')) as { pid: number };
    await o.link.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'crash', arguments: {} } });
    await o.closed;
    expect(await waitDead(grandchild)).toBe(true);
  });
});
