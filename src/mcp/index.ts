// MCP protocol helpers shared by the inbound (gateway) and outbound (upstream) sides.
export { argumentText, decodeHeaderValue, encodeHeaderValue, nameFieldOf, scanParamHeaders, type ParamHeader } from './modern-headers.js';

/** The stateless revision 2026-07-28. The SDK exports no constant for it (its lists stop at 2025-11-25). */
export const MODERN_PROTOCOL_VERSION = '2026-07-28';
