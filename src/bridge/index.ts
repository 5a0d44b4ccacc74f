// `gatehouse connect`: stdio <-> one remote link.
export { startBridge, type Bridge, type BridgeEnd, type BridgeOptions } from './bridge.js';
