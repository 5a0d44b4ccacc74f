// MCP protocol helpers shared by the inbound (gateway) and outbound (upstream) sides.
export { argumentText, decodeHeaderValue, encodeHeaderValue, nameFieldOf, scanParamHeaders, type ParamHeader } from './modern-headers.js';
