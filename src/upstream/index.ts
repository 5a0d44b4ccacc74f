// The upstream room's door: connections to MCP servers.
//
// Using a Channel:
// - `onMessage` is never called from inside `Channel.send` (replies made locally arrive in a
//   microtask), so a caller may register its waiter after sending.
// - A notification meant for several channels (list_changed, logging) is one shared object:
//   handlers must not mutate what they receive. Messages passed to `send` are never mutated.
// - Shared upstreams: ids, progress tokens, cancellations and subscriptions are per channel;
//   server requests (sampling, elicitation, roots) and log lines go only to a channel that
//   alone could have caused them, else a request is refused and a log line dropped
//   (`sole-target.ts`, decision 0012).
export type {
  Channel,
  ChannelHandlers,
  InitializeParams,
  InitializeResult,
  Link,
  LinkFactory,
  LinkHandlers,
  OpenChannelOptions,
  Upstream,
  UpstreamRequest,
  UpstreamState,
} from './types.js';
export { UpstreamError, failureMessage, type UpstreamErrorCode, type UpstreamErrorDetails } from './errors.js';
export { createStdioLinkFactory, type StdioLinkOptions } from './stdio-link.js';
export {
  createStdioUpstream,
  createUpstream,
  gatewayInitializeParams,
  GATEWAY_CLIENT_CAPABILITIES,
  GATEWAY_PROTOCOL_VERSION,
  type ClientIdentity,
  type RestartBackoff,
  type StdioUpstreamOptions,
  type UpstreamOptions,
} from './upstream.js';
// Remote links (Streamable HTTP, legacy SSE) live behind their own door, `./remote/index.js`:
// they pull in the SDK client and undici (about 35 MiB), so a gateway with only stdio
// servers never loads them.
export type { RemoteLinkFactory, RemoteLinkFactoryOptions, RemoteTransportKind } from './remote/index.js';
