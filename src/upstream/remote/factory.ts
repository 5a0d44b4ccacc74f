import type { AuthProvider } from '@modelcontextprotocol/client';

import type { Tracer } from '../../auth/client/index.js';
import type { ResolvedRemoteServer } from '../../config/resolved.js';
import { redactUrl, type Logger } from '../../observability/index.js';
import type { Link, LinkFactory, LinkHandlers } from '../types.js';
import { createHttpClient } from './http-client.js';
import { createModernEraState, EraDetectingLink } from './era-detection.js';
import { ModernAdapterLink } from './modern-adapter.js';
import { LegacySseLink } from './legacy-sse-link.js';
import type { InsufficientScopeChallenge, RemoteLinkContext, RemoteLinkEvents, RemoteTransportKind } from './link-context.js';
import { StreamableHttpLink } from './streamable-link.js';
import { TransportProbeLink } from './transport-probe.js';
import { AuthorizingDispatcher } from './oauth-dispatcher.js';
import { createUpstreamAuthProvider } from './upstream-oauth.js';
import { checkRemoteUrl } from './url-policy.js';

export interface RemoteLinkFactoryOptions {
  readonly logger: Logger;
  /** `--allow-http`: plain http to hosts other than this machine. Off by default. */
  readonly allowHttp?: boolean;
  /** Outbound credentials (the bridge's OAuth client): bearer tokens, and what to do on a 401. */
  readonly authProvider?: AuthProvider;
  /**
   * Step-up authorization (MCP: scope challenge handling): on 403 `insufficient_scope` the
   * link awaits this and resends the request, at most twice. Resolve false to give up (the
   * request fails).
   */
  readonly onInsufficientScope?: (challenge: InsufficientScopeChallenge) => Promise<boolean>;
  /** `--trace-file`: a span per HTTP request. */
  readonly tracer?: Tracer | undefined;
}

/** A LinkFactory for one remote server, which remembers what it learned about the server. */
export interface RemoteLinkFactory extends LinkFactory {
  /**
   * The transport in use for this server: as configured, or (transport: auto) the one the
   * last successful link found; `undefined` until then.
   */
  readonly detectedTransport: RemoteTransportKind | undefined;
  /** Releases the connection pools. Links already made keep working until closed. */
  close(): Promise<void>;
}

/**
 * Links to one remote MCP server (`kind: 'remote'`). Checks the URL (https, or loopback, or
 * `allowHttp`), the headers and `tls.ca` at once, and throws a RemoteLinkError on a problem.
 * Each call of the result opens one new connection: one Streamable HTTP session or one
 * legacy SSE stream.
 */
export function createRemoteLinkFactory(server: ResolvedRemoteServer, options: RemoteLinkFactoryOptions): RemoteLinkFactory {
  const url = checkRemoteUrl(server.url, { allowHttp: options.allowHttp });
  const http = createHttpClient({ url, headers: server.headers, tls: server.tls, timeoutMs: server.timeoutMs, tracer: options.tracer });
  const logger = options.logger.child({ upstream: server.name });
  // The bridge brings its own OAuth client; a gateway upstream may have `oauth` in config.
  const authProvider = options.authProvider ?? createUpstreamAuthProvider(server, { fetchFn: http.fetchFor(), logger, tracer: options.tracer });
  const ctx: RemoteLinkContext = {
    name: server.name,
    url,
    timeoutMs: server.timeoutMs,
    http,
    logger,
    authProvider,
    onInsufficientScope: options.onInsufficientScope,
  };
  const auto = server.transport === 'auto';

  // transport: auto remembers the answer so that later links do not probe again. Only the
  // legacy answer saves anything (a Streamable HTTP probe is the first POST anyway); a link
  // that fails before the server accepted anything forgets it, so the next one asks afresh.
  let detected: RemoteTransportKind | undefined = auto ? undefined : server.transport;
  const events: RemoteLinkEvents = {
    delivered(kind) {
      if (auto && detected !== kind) {
        logger.info({ transport: kind, url: redactUrl(url.href) }, 'remote server transport detected');
        detected = kind;
      }
    },
    failedEarly() {
      if (auto) detected = undefined;
    },
  };

  // Streamable HTTP goes over the lean undici link, not the SDK transport (several times
  // less CPU per call, docs/decisions/0005-performance.md), from the first link on: with
  // transport: auto it also probes (transport-probe.ts). Bearer tokens, the 401 retry, step-up
  // and traces come from a dispatcher around the pool (oauth-dispatcher.ts). Legacy HTTP+SSE
  // uses the SDK's SSE client transport (legacy-sse-link.ts).
  const leanDispatcher =
    authProvider !== undefined || options.tracer !== undefined
      ? new AuthorizingDispatcher({ inner: http.serverDispatcher, serverUrl: url, auth: authProvider, onInsufficientScope: options.onInsufficientScope, fetchFn: http.fetchFor(), tracer: options.tracer, logger })
      : http.serverDispatcher;
  const leanOptions = {
    name: server.name,
    url,
    timeoutMs: server.timeoutMs,
    dispatcher: leanDispatcher,
    // Without OAuth or traces the POSTs go over the wire pool (docs/decisions/0017-wire-client.md).
    raw: leanDispatcher === http.serverDispatcher ? http.wire : undefined,
    headers: server.headers,
    logger,
    events,
  };
  const openSse = (handlers: LinkHandlers): Promise<Link> => LegacySseLink.open(ctx, handlers, events);

  const openLegacy = async (handlers: LinkHandlers): Promise<Link> => {
    if (server.transport === 'sse') return openSse(handlers);
    if (server.transport === 'streamable-http' || detected === 'streamable-http') return new StreamableHttpLink(leanOptions, handlers);
    if (detected === 'sse') {
      try {
        return await openSse(handlers);
      } catch (error) {
        logger.info({ reason: error instanceof Error ? error.message : String(error) }, 'legacy SSE failed this time; probing the transport again');
        detected = undefined;
      }
    }
    // Not known yet: the lean link POSTs initialize, and falls back to legacy SSE on a legacy answer.
    return new TransportProbeLink(
      {
        url,
        timeoutMs: server.timeoutMs,
        logger,
        openStreamable: (h, onLegacyAnswer) => new StreamableHttpLink({ ...leanOptions, onLegacyAnswer }, h),
        openSse,
      },
      handlers,
    );
  };

  // A server that speaks only MCP 2026-07-28 refuses the Upstream's initialize (-32022 naming
  // 2026-07-28): that link turns into a ModernAdapterLink (modern-adapter.ts), and later links
  // go straight to one. A 2025 server never sees an extra request.
  const era = createModernEraState(() => events.delivered('streamable-http'));
  const openModern = (handlers: LinkHandlers): Promise<Link> => ModernAdapterLink.open(ctx, handlers, era);
  const factory = (handlers: LinkHandlers): Promise<Link> => {
    if (server.transport === 'sse') return openLegacy(handlers);
    if (era.modern) return openModern(handlers);
    return EraDetectingLink.open(handlers, openLegacy, openModern, logger);
  };

  return Object.defineProperties(factory, {
    detectedTransport: { get: () => detected, enumerable: true },
    close: { value: () => http.close(), enumerable: true },
  }) as RemoteLinkFactory;
}
