// Links to remote MCP servers: Streamable HTTP, legacy HTTP+SSE, or auto-detected.
export { createRemoteLinkFactory, type RemoteLinkFactory, type RemoteLinkFactoryOptions } from './factory.js';
export { LegacySseLink } from './legacy-sse-link.js';
export { StreamableHttpLink } from './streamable-link.js';
export type { InsufficientScopeChallenge, RemoteTransportKind } from './link-context.js';
export { EraDetectingLink, isModernOnlyRefusal, MODERN_PROTOCOL_VERSION, type ModernEraState } from './era-detection.js';
export { ModernAdapterLink } from './modern-adapter.js';
export { RemoteLinkError, type RemoteFailureCode } from './errors.js';
export { checkRemoteUrl, isLoopbackHost } from './url-policy.js';
