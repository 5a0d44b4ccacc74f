import type { Readable, Writable } from 'node:stream';

import { ErrorCode, errorResponse, isRequest, isResponse, parseMessage, type JsonRpcId, type JsonRpcMessage } from '../jsonrpc/index.js';
import type { Logger } from '../observability/index.js';
import type { Link, LinkFactory } from '../upstream/index.js';
import { LineSplitter } from '../upstream/line-splitter.js';

/** A desktop client's line is one JSON-RPC message; anything longer than this is refused. */
const MAX_LINE_BYTES = 64 * 1024 * 1024;

export interface BridgeOptions {
  /** Opens the one link to the remote server (createRemoteLinkFactory). */
  readonly factory: LinkFactory;
  /** Newline-delimited JSON-RPC from the desktop client (stdin). */
  readonly input: Readable;
  /** Only JSON-RPC goes here, one message a line (stdout). */
  readonly output: Writable;
  readonly logger: Logger;
  /**
   * When stdin ends with requests still unanswered (`echo '{...}' | gatehouse connect URL`),
   * how long their answers are waited for before the link is closed (default 30 s).
   */
  readonly drainTimeoutMs?: number;
}

/** Why a bridge ended: the client left (`client-closed`), a signal (`stopped`), or the remote (`link-closed`). */
export type BridgeEnd = { readonly kind: 'client-closed' } | { readonly kind: 'stopped' } | { readonly kind: 'link-closed'; readonly reason: Error };

export interface Bridge {
  /** Resolves once the bridge has ended and the link is closed. */
  readonly done: Promise<BridgeEnd>;
  /** Ends the bridge (signal): closes the link, which DELETEs the HTTP session. */
  stop(): Promise<BridgeEnd>;
}

/**
 * `gatehouse connect`: a transparent pipe between a stdio MCP client and one remote link.
 * Every message is forwarded as it is, both ways, including the client's own `initialize`,
 * so the remote sees the real clientInfo and capabilities. The only thing read is the
 * `initialize` reply's protocolVersion, which HTTP links must send as a header afterwards.
 */
export async function startBridge(options: BridgeOptions): Promise<Bridge> {
  const { input, output, logger } = options;
  let ended: BridgeEnd | undefined;
  let resolveDone!: (end: BridgeEnd) => void;
  const done = new Promise<BridgeEnd>((resolve) => (resolveDone = resolve));
  let initializeId: JsonRpcId | undefined;
  /** Client requests not answered yet (only consulted once stdin has ended). */
  const unanswered = new Set<JsonRpcId>();
  let drained: (() => void) | undefined;
  // Set once the factory answers; handlers may run before that (a link failing while it opens).
  let link: Link | undefined = undefined;

  // stdout to a pipe is written synchronously on Linux, one system call per write: replies
  // that arrive in the same turn of the event loop go out together (cork, then one writev
  // once the loop has handled every ready socket).
  let corked = false;
  const uncork = (): void => {
    corked = false;
    output.uncork();
  };
  const write = (message: JsonRpcMessage): void => {
    if (ended) return;
    if (!corked) {
      corked = true;
      output.cork();
      setImmediate(uncork);
    }
    output.write(`${JSON.stringify(message)}\n`);
  };

  const finish = async (end: BridgeEnd): Promise<BridgeEnd> => {
    if (ended) return done;
    ended = end;
    input.off('data', onData);
    input.off('end', onEnd);
    input.pause();
    await link?.close().catch((error: unknown) => logger.debug({ err: error }, 'closing the link failed'));
    resolveDone(end);
    return done;
  };

  link = await options.factory({
    onMessage(message) {
      if (isResponse(message) && message.id !== null && unanswered.delete(message.id) && unanswered.size === 0) drained?.();
      if (initializeId !== undefined && isResponse(message) && message.id === initializeId) {
        initializeId = undefined;
        const version = 'result' in message ? message.result.protocolVersion : undefined;
        if (typeof version === 'string') link?.setProtocolVersion?.(version);
      }
      write(message);
    },
    onClose(reason) {
      void finish({ kind: 'link-closed', reason });
    },
  });
  logger.debug({ link: link.description }, 'bridge link open');

  // Sends keep the client's order; each send resolves as soon as the message is handed to HTTP.
  let queue: Promise<void> = Promise.resolve();
  const forward = (message: JsonRpcMessage): void => {
    if (isRequest(message)) {
      unanswered.add(message.id);
      if (message.method === 'initialize') initializeId = message.id;
    }
    const current = link;
    queue = queue
      .then(() => current?.send(message))
      .catch((error: unknown) => {
        if (ended) return;
        logger.warn({ reason: error instanceof Error ? error.message : String(error) }, 'could not forward a message to the remote server');
        if (isRequest(message)) {
          unanswered.delete(message.id);
          write(errorResponse(message.id, ErrorCode.UpstreamUnavailable, 'the remote server is not reachable'));
        }
      });
  };

  const splitter = new LineSplitter(MAX_LINE_BYTES, (buf, start, end) => {
    let text = buf.toString('utf8', start, end);
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      write(errorResponse(null, ErrorCode.ParseError, 'Parse error: not JSON'));
      return;
    }
    const parsed = parseMessage(value);
    if (!parsed.ok) {
      write(errorResponse(parsed.id, ErrorCode.InvalidRequest, `Invalid Request: ${parsed.reason}`));
      return;
    }
    forward(parsed.message);
  });

  function onData(chunk: Buffer): void {
    if (!splitter.push(chunk)) {
      logger.error({ maxBytes: MAX_LINE_BYTES }, 'a line from the client is too long; closing');
      void finish({ kind: 'client-closed' });
    }
  }
  function onEnd(): void {
    // Let what the client sent last reach the remote, and its answers come back, before the
    // session is deleted.
    void queue.then(async () => {
      if (unanswered.size > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => (drained = resolve)),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, options.drainTimeoutMs ?? 30_000))),
          done.then(() => undefined),
        ]);
        clearTimeout(timer);
      }
      await finish({ kind: 'client-closed' });
    });
  }
  input.on('data', onData);
  input.on('end', onEnd);

  return { done, stop: () => finish({ kind: 'stopped' }) };
}
