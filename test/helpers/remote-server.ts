// A ResolvedRemoteServer for tests of the remote link room, with every field filled in.
import type { ResolvedRemoteServer } from '../../src/config/index.js';

export function remoteServer(url: string, overrides: Partial<ResolvedRemoteServer> = {}, name = 'test-remote'): ResolvedRemoteServer {
  return {
    kind: 'remote',
    name,
    url,
    transport: 'auto',
    headers: {},
    tls: { rejectUnauthorized: true, ca: undefined },
    timeoutMs: 10_000,
    allowHttp: false,
    oauth: undefined,
    tools: undefined,
    tokens: undefined,
    description: undefined,
    ...overrides,
  };
}
