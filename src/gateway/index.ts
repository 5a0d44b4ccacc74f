export { Gateway, type GatewayOptions, type McpCall } from './gateway.js';
export type { Dispatcher, DownstreamSink } from './dispatcher.js';
export { NAME_SEPARATOR } from './aggregate-dispatcher.js';
export { MODERN_PROTOCOL_VERSION, LEGACY_PROTOCOL_VERSIONS } from './protocol.js';
export { toolAllowed } from './tool-filter.js';
export { isStreamReply, toResponse, type InboundRequest, type Reply } from './reply.js';
