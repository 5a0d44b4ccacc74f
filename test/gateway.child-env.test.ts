// Secrets the config reads from the gateway's environment (`env:NAME`) are not inherited by
// stdio children: a third-party server does not get another server's token or the
// gateway's client secrets. A server's own `env` block can still pass one on by name.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { resolveConfig } from '../src/config/index.js';
import { childEnvironment } from '../src/upstream/stdio-link.js';
import { rawStdio, startTestGateway } from './helpers/gateway.js';

const NAMES = ['GH_CHILD_ENV_TOKEN', 'GH_CHILD_ENV_OTHER_SECRET', 'GH_CHILD_ENV_PLAIN', 'GH_CHILD_ENV_PASSED'];

describe('environment of stdio children', () => {
  let gw: Awaited<ReturnType<typeof startTestGateway>>;
  let client: Client;

  beforeAll(async () => {
    process.env.GH_CHILD_ENV_TOKEN = 'static-token-value-0123456789';
    process.env.GH_CHILD_ENV_OTHER_SECRET = 'other-secret-value';
    process.env.GH_CHILD_ENV_PLAIN = 'plain-value';
    process.env.GH_CHILD_ENV_PASSED = 'passed-on-value';
    gw = await startTestGateway({
      auth: { mode: 'tokens', tokens: ['env:GH_CHILD_ENV_TOKEN'] },
      servers: {
        // Read by `other` only: `tools` must not see it.
        other: rawStdio({ env: { OWN: 'env:GH_CHILD_ENV_OTHER_SECRET' } }),
        tools: rawStdio({ env: { GH_CHILD_ENV_PASSED: 'env:GH_CHILD_ENV_PASSED' } }),
      },
    });
    client = new Client({ name: 'child-env-test', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${gw.base}/tools/mcp`), {
        requestInit: { headers: { authorization: 'Bearer static-token-value-0123456789' } },
      }),
    );
  });

  afterAll(async () => {
    await client?.close();
    await gw?.close();
    for (const name of NAMES) delete process.env[name];
  });

  it('withholds every variable read through env: and passes the rest', async () => {
    const result = await client.callTool({ name: 'env', arguments: { names: NAMES } });
    const seen = JSON.parse((result.content as { text: string }[])[0]!.text) as Record<string, string | null>;
    expect(seen).toEqual({
      GH_CHILD_ENV_TOKEN: null,
      GH_CHILD_ENV_OTHER_SECRET: null,
      GH_CHILD_ENV_PLAIN: 'plain-value',
      // The server's own env block names it: passed on.
      GH_CHILD_ENV_PASSED: 'passed-on-value',
    });
  });

});

describe('secretEnvNames', () => {
  it('lists the variables read through env: (header suffixes included), not ${VAR} interpolations', () => {
    const config = resolveConfig(
      {
        format: 'native',
        location: 'test',
        baseDir: process.cwd(),
        doc: {
          auth: { mode: 'tokens', tokens: ['env:T1'] },
          servers: {
            a: { command: 'node', args: ['${HOME_LIKE}'], env: { K: 'env:T2' } },
            b: { url: 'https://example.com/mcp', headers: { Cookie: 'LtpaToken2=env:T3' } },
          },
        },
      },
      { T1: 'token-value-0123456789', T2: 'x', T3: 'y', HOME_LIKE: '/home/x' },
    );
    expect(config.secretEnvNames).toEqual(['T1', 'T2', 'T3']);
  });
});

describe('childEnvironment', () => {
  it('removes withheld names, then applies the server env (which wins)', () => {
    expect(childEnvironment({ A: '1', B: '2', C: '3' }, ['B', 'C'], { C: 'own' })).toEqual({ A: '1', C: 'own' });
  });
});
