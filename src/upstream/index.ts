// The upstream room's door: connections to MCP servers.
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
// Remote links (Streamable HTTP, legacy SSE), written in remote/: plug into createUpstream.
export {
  checkRemoteUrl,
  createRemoteLinkFactory,
  isLoopbackHost,
  RemoteLink,
  RemoteLinkError,
  type RemoteFailureCode,
  type RemoteLinkFactory,
  type RemoteLinkFactoryOptions,
  type RemoteTransportKind,
} from './remote/index.js';
