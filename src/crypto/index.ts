// Small security primitives, each in its own file with its own test.
export { constantTimeEqual, matchesAny } from './constant-time.js';
export { hashPassword, verifyPassword, isPasswordHash } from './password.js';
export { randomToken, sha256 } from './random.js';
