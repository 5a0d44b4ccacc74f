export { headerProblem, WirePool, type WireHandler, type WirePoolOptions, type WireRequest } from './wire-pool.js';
export { WireError, type WireErrorCode } from './wire-error.js';
