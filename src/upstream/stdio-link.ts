import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { ResolvedStdioServer } from '../config/resolved.js';
import { parseMessage, type JsonRpcMessage } from '../jsonrpc/index.js';
import type { Logger } from '../observability/index.js';
import { UpstreamError } from './errors.js';
import { ChildStderr, preview } from './child-stderr.js';
import { LineSplitter } from './line-splitter.js';
import type { Link, LinkFactory, LinkHandlers } from './types.js';

// MCP stdio transport: one JSON-RPC message per line on stdin/stdout, UTF-8, no embedded
// newlines; stderr is free-form logging. Shutdown (MCP lifecycle, stdio): close the
// child's stdin, wait, SIGTERM, wait, SIGKILL.

export interface StdioLinkOptions {
  /** A stdout line longer than this kills the link (default 64 MiB). */
  readonly maxLineBytes?: number;
  /** Bytes queued for the child's stdin beyond which the child counts as stuck and the link fails (default 64 MiB). */
  readonly maxWriteBufferBytes?: number;
  /** After stdin is closed, how long the child may take to exit before SIGTERM (default 200 ms). */
  readonly stdinCloseGraceMs?: number;
  /** After SIGTERM, how long before SIGKILL (default 2 s). */
  readonly killGraceMs?: number;
  /** Variables of the gateway's environment the child does not inherit (the config's secrets). */
  readonly withheldEnv?: readonly string[];
}

interface ResolvedStdioLinkOptions {
  readonly maxLineBytes: number;
  readonly maxWriteBufferBytes: number;
  readonly stdinCloseGraceMs: number;
  readonly killGraceMs: number;
  readonly withheldEnv: readonly string[];
}

const MIB = 1024 * 1024;
const DEFAULTS: ResolvedStdioLinkOptions = {
  maxLineBytes: 64 * MIB,
  maxWriteBufferBytes: 64 * MIB,
  stdinCloseGraceMs: 200,
  killGraceMs: 2_000,
  withheldEnv: [],
};
/** How long to keep reading stdout after the process exited (its last replies may still be in the pipe). */
const DRAIN_AFTER_EXIT_MS = 100;
const RESOLVED: Promise<void> = Promise.resolve();
// POSIX: each child leads its own process group, so that wrappers (npx, uvx, sh -c) are
// stopped together with what they started, and a terminal's Ctrl-C reaches only us: we
// stop children in order, after failing their in-flight requests cleanly.
const OWN_GROUP = process.platform !== 'win32';

/**
 * Link factory for a stdio MCP server: each call spawns a new child process. The child's
 * environment is `process.env` with the server's `env` on top. `logger` should be the
 * base logger; stderr lines are logged under `{ upstream: name }`.
 *
 * The returned promise rejects with an `UpstreamError` when the process cannot be started
 * (`command_not_found`, `permission_denied`, `cwd_not_found`, `spawn_failed`); no link exists
 * then and `onClose` is not called. Once a link is returned, `onClose` fires exactly once:
 * when the process exits (`exited`), when the link fails (`line_too_long`, `input_overflow`),
 * or after `close()` (`closed`).
 */
export function createStdioLinkFactory(server: ResolvedStdioServer, logger: Logger, options: StdioLinkOptions = {}): LinkFactory {
  const resolved: ResolvedStdioLinkOptions = { ...DEFAULTS, ...definedOnly(options) };
  const log = logger.child({ upstream: server.name });
  return (handlers) => spawnStdioLink(server, resolved, log, handlers);
}

function definedOnly(options: StdioLinkOptions): Partial<ResolvedStdioLinkOptions> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}

/**
 * The child's environment: the gateway's, without the variables the config reads secrets
 * from (a third-party server need not see another server's token or our client secrets),
 * then the server's own `env` block, which may pass any of them on by name.
 */
export function childEnvironment(
  inherited: Readonly<Record<string, string | undefined>>,
  withheld: readonly string[],
  own: Readonly<Record<string, string>>,
): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...inherited };
  for (const name of withheld) delete env[name];
  return Object.assign(env, own);
}

function spawnStdioLink(server: ResolvedStdioServer, options: ResolvedStdioLinkOptions, log: Logger, handlers: LinkHandlers): Promise<Link> {
  return new Promise<Link>((resolve, reject) => {
    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawn(server.command, [...server.args], {
        env: childEnvironment(process.env, options.withheldEnv, server.env),
        cwd: server.cwd,
        stdio: ['pipe', 'pipe', 'pipe'],
        shell: false,
        windowsHide: true,
        detached: OWN_GROUP,
      });
    } catch (err) {
      // Synchronous refusals: a NUL byte in an argument, a bad option.
      reject(spawnError(server, err));
      return;
    }
    const onError = (err: Error): void => {
      child.off('spawn', onSpawn);
      child.stdin.destroy();
      child.stdout.destroy();
      child.stderr.destroy();
      reject(spawnError(server, err));
    };
    const onSpawn = (): void => {
      child.off('error', onError);
      // Synchronously, so that no output or exit event is emitted before the link listens.
      resolve(new StdioLink(server, child, options, log, handlers));
    };
    child.once('error', onError);
    child.once('spawn', onSpawn);
  });
}

function spawnError(server: ResolvedStdioServer, err: unknown): UpstreamError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') {
    // Node reports a missing working directory as ENOENT of the command too.
    if (server.cwd !== undefined && !existsSync(server.cwd)) {
      return new UpstreamError('cwd_not_found', server.name, `could not start: working directory not found: ${server.cwd}`, { cause: err });
    }
    return new UpstreamError('command_not_found', server.name, `could not start: command not found: ${server.command}`, { cause: err });
  }
  if (code === 'EACCES') {
    return new UpstreamError('permission_denied', server.name, `could not start: permission denied: ${server.command}`, { cause: err });
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new UpstreamError('spawn_failed', server.name, `could not start ${server.command}: ${detail}`, { cause: err });
}

class StdioLink implements Link {
  readonly description: string;
  readonly #name: string;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #pid: number;
  readonly #options: ResolvedStdioLinkOptions;
  readonly #log: Logger;
  readonly #handlers: LinkHandlers;
  readonly #stdout: LineSplitter;
  readonly #stderr: ChildStderr;
  readonly #exited: Promise<void>;
  #exitCode: number | null = null;
  #exitSignal: NodeJS.Signals | null = null;
  #hasExited = false;
  #stdoutEnded = false;
  #drainTimer: NodeJS.Timeout | undefined;
  /** Set when `onClose` has fired: nothing is delivered or written after that. */
  #closeReason: Error | undefined;
  #closing: Promise<void> | undefined;
  #drainWaiters: (() => void)[] = [];
  #corked = false;
  readonly #uncork = (): void => {
    this.#corked = false;
    this.#child.stdin.uncork();
  };

  constructor(server: ResolvedStdioServer, child: ChildProcessWithoutNullStreams, options: ResolvedStdioLinkOptions, log: Logger, handlers: LinkHandlers) {
    this.#name = server.name;
    this.#child = child;
    this.#pid = child.pid ?? -1;
    this.#options = options;
    this.#log = log;
    this.#handlers = handlers;
    // Arguments stay out: they can carry tokens.
    this.description = `stdio ${server.command} (pid ${this.#pid})`;
    this.#stdout = new LineSplitter(options.maxLineBytes, this.#onStdoutLine);
    this.#stderr = new ChildStderr(log);
    this.#exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.#hasExited = true;
        this.#exitCode = code;
        this.#exitSignal = signal;
        resolve();
        this.#onExit();
      });
    });
    child.on('error', (err) => this.#log.warn({ err }, 'upstream process error'));
    child.stdout.on('data', this.#onStdoutData);
    child.stdout.once('end', this.#onStdoutEnd);
    child.stdout.on('error', (err) => this.#log.debug({ err }, 'upstream stdout error'));
    child.stderr.on('data', this.#stderr.push);
    child.stderr.on('error', (err) => this.#log.debug({ err }, 'upstream stderr error'));
    // EPIPE when the child is gone: the exit event reports that, with its code.
    child.stdin.on('error', (err) => this.#log.debug({ err }, 'upstream stdin error'));
    child.stdin.on('drain', this.#onDrain);
  }

  send(message: JsonRpcMessage): Promise<void> {
    if (this.#closeReason !== undefined || this.#closing !== undefined) {
      return Promise.reject(this.#closeReason ?? new UpstreamError('closed', this.#name, 'closed'));
    }
    let data: string;
    try {
      data = `${JSON.stringify(message)}\n`;
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const stdin = this.#child.stdin;
    // Messages written in the same turn of the event loop leave in one write(2): under load
    // that saves a system call per message.
    if (!this.#corked) {
      this.#corked = true;
      stdin.cork();
      setImmediate(this.#uncork);
    }
    const ok = stdin.write(data);
    if (stdin.writableLength > this.#options.maxWriteBufferBytes) {
      const error = new UpstreamError('input_overflow', this.#name, `is not reading its input (${stdin.writableLength} bytes waiting)`);
      this.#fail(error);
      return Promise.reject(error);
    }
    if (ok) return RESOLVED;
    return new Promise<void>((resolve) => this.#drainWaiters.push(resolve));
  }

  close(): Promise<void> {
    this.#closing ??= this.#terminate();
    return this.#closing;
  }

  // --- output

  readonly #onStdoutData = (chunk: Buffer): void => {
    if (this.#closeReason !== undefined) return;
    if (!this.#stdout.push(chunk)) {
      const max = this.#options.maxLineBytes;
      this.#fail(new UpstreamError('line_too_long', this.#name, `sent a message line longer than ${max} bytes`));
    }
  };

  readonly #onStdoutLine = (buf: Buffer, start: number, end: number): void => {
    if (this.#closeReason !== undefined) return;
    if (end > start && buf[end - 1] === 13) end--;
    if (end === start) return;
    const text = buf.toString('utf8', start, end);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      if (text.trim() !== '') this.#log.warn({ line: preview(text) }, 'upstream wrote a line that is not JSON to stdout; skipped');
      return;
    }
    if (Array.isArray(value)) {
      // JSON-RPC batches (allowed by MCP 2025-03-26 only).
      for (const item of value) this.#deliver(item);
    } else {
      this.#deliver(value);
    }
  };

  #deliver(value: unknown): void {
    if (this.#closeReason !== undefined) return;
    const parsed = parseMessage(value);
    if (!parsed.ok) {
      this.#log.warn({ reason: parsed.reason }, 'upstream sent something that is not a JSON-RPC message; skipped');
      return;
    }
    try {
      this.#handlers.onMessage(parsed.message);
    } catch (err) {
      this.#log.error({ err }, 'upstream message handler threw');
    }
  }

  readonly #onStdoutEnd = (): void => {
    this.#stdoutEnded = true;
    const rest = this.#stdout.takeRest();
    if (rest !== undefined) this.#onStdoutLine(rest, 0, rest.length);
    if (this.#hasExited) this.#finish();
  };

  readonly #onDrain = (): void => {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const resolve of waiters) resolve();
  };

  // --- end of life

  #onExit(): void {
    // Wrappers can leave grandchildren behind that still hold our pipes.
    if (OWN_GROUP) this.#signalGroup('SIGTERM', false);
    if (this.#stdoutEnded) {
      this.#finish();
      return;
    }
    this.#drainTimer = setTimeout(() => this.#finish(), DRAIN_AFTER_EXIT_MS);
    this.#drainTimer.unref();
  }

  #finish(): void {
    if (this.#drainTimer !== undefined) clearTimeout(this.#drainTimer);
    this.#drainTimer = undefined;
    this.#stderr.flush();
    // A grandchild that ignored SIGTERM must not keep our pipes (and their descriptors) open.
    if (this.#hasExited) this.#destroyPipes();
    if (this.#closing !== undefined) {
      this.#fireClose(new UpstreamError('closed', this.#name, 'closed'));
      return;
    }
    const code = this.#exitCode;
    const signal = this.#exitSignal;
    const detail = signal !== null ? `exited (signal ${signal})` : `exited (code ${code ?? 'unknown'})`;
    this.#fireClose(new UpstreamError('exited', this.#name, detail, { exitCode: code, signal, stderrTail: this.#stderr.tail() }));
  }

  /** The link is unusable (bad output, stuck input): report it now, stop the process in the background. */
  #fail(error: UpstreamError): void {
    if (this.#closeReason !== undefined) return;
    this.#log.error({ err: error }, 'upstream link failed; stopping the process');
    this.#fireClose(error);
    this.#closing ??= this.#terminate();
  }

  #fireClose(reason: Error): void {
    if (this.#closeReason !== undefined) return;
    this.#closeReason = reason;
    this.#onDrain();
    try {
      this.#handlers.onClose(reason);
    } catch (err) {
      this.#log.error({ err }, 'upstream close handler threw');
    }
  }

  async #terminate(): Promise<void> {
    const { stdinCloseGraceMs, killGraceMs } = this.#options;
    if (!this.#hasExited) {
      this.#child.stdin.end();
      if (!(await this.#waitExit(stdinCloseGraceMs))) {
        this.#signal('SIGTERM');
        if (!(await this.#waitExit(killGraceMs))) {
          this.#log.warn({ pid: this.#pid }, 'upstream did not stop after SIGTERM; sending SIGKILL');
          this.#signal('SIGKILL');
          await this.#waitExit(killGraceMs);
        }
      }
    }
    if (!this.#hasExited) this.#log.error({ pid: this.#pid }, 'upstream process did not exit after SIGKILL');
    // Whatever the exit path, onClose has fired once we return.
    this.#finish();
    this.#destroyPipes();
  }

  #destroyPipes(): void {
    this.#child.stdout.destroy();
    this.#child.stderr.destroy();
    this.#child.stdin.destroy();
  }

  #waitExit(ms: number): Promise<boolean> {
    if (this.#hasExited) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      void this.#exited.then(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  #signal(signal: NodeJS.Signals): void {
    if (OWN_GROUP && this.#signalGroup(signal, true)) return;
    try {
      this.#child.kill(signal);
    } catch (err) {
      this.#log.debug({ err, signal }, 'could not signal upstream process');
    }
  }

  /** Signals the child's whole process group. Returns false when there was nothing to signal. */
  #signalGroup(signal: NodeJS.Signals, logFailure: boolean): boolean {
    if (this.#pid <= 0) return false;
    try {
      process.kill(-this.#pid, signal);
      return true;
    } catch (err) {
      if (logFailure && (err as NodeJS.ErrnoException).code !== 'ESRCH') this.#log.debug({ err, signal }, 'could not signal upstream process group');
      return false;
    }
  }
}
