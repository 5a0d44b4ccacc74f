import type { ResolvedStdioServer } from '../config/resolved.js';
import type { Logger } from '../observability/index.js';
import { PerSessionUpstream } from './per-session-upstream.js';
import { SharedUpstream } from './shared-upstream.js';
import { createStdioLinkFactory, type StdioLinkOptions } from './stdio-link.js';
import type { InitializeParams, LinkFactory, Upstream } from './types.js';

/**
 * The revision the gateway asks for on links it initializes itself: the SDK's
 * LATEST_PROTOCOL_VERSION (@modelcontextprotocol/core 2.4). A test keeps them in step.
 */
export const GATEWAY_PROTOCOL_VERSION = '2025-11-25';

/** What the gateway declares on links it initializes itself; it relays these requests to its sessions. */
export const GATEWAY_CLIENT_CAPABILITIES: Readonly<Record<string, unknown>> = Object.freeze({
  sampling: {},
  elicitation: {},
  roots: { listChanged: true },
});

export interface ClientIdentity {
  readonly name: string;
  readonly version: string;
}

/** The `initialize` params of the gateway itself (shared links, probes, and per-session fallback). */
export function gatewayInitializeParams(clientInfo: ClientIdentity): InitializeParams {
  return {
    protocolVersion: GATEWAY_PROTOCOL_VERSION,
    capabilities: { ...GATEWAY_CLIENT_CAPABILITIES },
    clientInfo: { name: clientInfo.name, version: clientInfo.version },
  };
}

export interface RestartBackoff {
  /** First delay after a crash (default 250 ms); doubles on each failure. */
  readonly initialMs?: number;
  /** Longest delay (default 30 s). */
  readonly maxMs?: number;
  /** A link that stayed up this long starts the next backoff from `initialMs` again (default 60 s). */
  readonly resetAfterMs?: number;
}

export interface UpstreamOptions {
  readonly name: string;
  readonly linkFactory: LinkFactory;
  /** `shared`: one link for every channel, supervised and restarted; `per-session`: one link per channel. */
  readonly sharing: 'shared' | 'per-session';
  /** The base logger; lines carry `{ upstream: name }`. */
  readonly logger: Logger;
  /** The gateway's identity, sent as `clientInfo` when it initializes a link itself. */
  readonly clientInfo: ClientIdentity;
  /** A request not answered within this gets a -32001 error reply and is cancelled upstream. Default: none. */
  readonly requestTimeoutMs?: number;
  /** Making a link and finishing `initialize` (default 60 s: `npx -y` may download first). */
  readonly startTimeoutMs?: number;
  /** How long requests wait for a restarting link before an error reply (default 10 s). */
  readonly waitForReadyMs?: number;
  readonly restartBackoff?: RestartBackoff;
  /** Bound on `close()` (default 5 s); stdio links need about 2.2 s at worst. */
  readonly closeTimeoutMs?: number;
}

export interface ResolvedUpstreamOptions {
  readonly name: string;
  readonly linkFactory: LinkFactory;
  readonly log: Logger;
  readonly gatewayParams: InitializeParams;
  readonly requestTimeoutMs: number | undefined;
  readonly startTimeoutMs: number;
  readonly waitForReadyMs: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  readonly backoffResetAfterMs: number;
  readonly closeTimeoutMs: number;
}

/**
 * An Upstream over any kind of link (stdio here, HTTP and SSE from `remote/`).
 *
 * `shared`: one link serves every channel. `start()` makes it and does the handshake with
 * the gateway's own params; a link that dies is made again after 250 ms, doubling to 30 s
 * (back to 250 ms once a link stayed up 60 s). States: `starting` (first attempt), `ready`,
 * `restarting` (a ready link died: requests wait for the next one, up to `waitForReadyMs`),
 * `down` (the last attempt failed: requests fail at once while retries go on), `closed`.
 * `start()` rejects when the first attempt fails; retries go on regardless.
 *
 * `per-session`: every `open()` makes a link and initializes it with the downstream client's
 * params (`OpenChannelOptions.initialize`, else the gateway's). When that link dies, its
 * requests in flight get an error reply and the channel stays open: its next message makes
 * a fresh link, initialized with the same params (server-side state is gone, as after any
 * restart). `start()` probes once (a link, a handshake, then close) to fill
 * `initializeResult` and to fail early on a bad command. State: `ready` or `down` after the
 * last link start (a server that refuses one client's initialize does not count).
 */
export function createUpstream(options: UpstreamOptions): Upstream {
  const resolved: ResolvedUpstreamOptions = {
    name: options.name,
    linkFactory: options.linkFactory,
    log: options.logger.child({ upstream: options.name }),
    gatewayParams: gatewayInitializeParams(options.clientInfo),
    requestTimeoutMs: options.requestTimeoutMs,
    startTimeoutMs: options.startTimeoutMs ?? 60_000,
    waitForReadyMs: options.waitForReadyMs ?? 10_000,
    backoffInitialMs: options.restartBackoff?.initialMs ?? 250,
    backoffMaxMs: options.restartBackoff?.maxMs ?? 30_000,
    backoffResetAfterMs: options.restartBackoff?.resetAfterMs ?? 60_000,
    closeTimeoutMs: options.closeTimeoutMs ?? 5_000,
  };
  return options.sharing === 'shared' ? new SharedUpstream(resolved) : new PerSessionUpstream(resolved);
}

export interface StdioUpstreamOptions extends Omit<UpstreamOptions, 'name' | 'linkFactory' | 'sharing'> {
  readonly link?: StdioLinkOptions;
}

/** An Upstream for a configured stdio server: its command, env, cwd and `sharing`. */
export function createStdioUpstream(server: ResolvedStdioServer, options: StdioUpstreamOptions): Upstream {
  const { link, ...rest } = options;
  return createUpstream({
    ...rest,
    name: server.name,
    sharing: server.sharing,
    linkFactory: createStdioLinkFactory(server, options.logger, link),
  });
}

