import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig, type NativeDocument } from './index.js';

const native = (doc: Record<string, unknown>): NativeDocument => ({ format: 'native', location: 'test.yaml', baseDir: process.cwd(), doc });
// What a store command reads (store-command.ts keeps its own list): the rest is optional.
const storeCommand = { optionalReferences: (path: string) => !/^(?:store|dataDir)$/.test(path) };

describe('optional references the schema would refuse as written', () => {
  it('a store command loads a config whose unset references sit at typed paths it never reads', () => {
    const cfg = resolveConfig(
      native({
        dataDir: './data',
        trustProxy: ['${GH_T_PROXY}', '10.0.0.0/8'],
        maxSessionsPerClient: '${GH_T_MAX}',
        auth: {
          users: { alice: { passwordHash: 'env:GH_T_ALICE_HASH' } },
          allowedIps: ['${GH_T_IPS}'],
          accessTokenTtl: '${GH_T_TTL}',
          registration: { dynamic: '${GH_T_DYN}' },
        },
        servers: {
          corp: { url: '${GH_T_URL}', timeout: '${GH_T_TIMEOUT}', allowHttp: '${GH_T_HTTP}', transport: 'env:GH_T_TRANSPORT', tls: { rejectUnauthorized: '${GH_T_TLS}' } },
          files: { command: 'node' },
        },
      }),
      {},
      {},
      storeCommand,
    );
    // Every entry is kept where it was (a server's name is a route, a user's name a note); the values are defaults.
    expect(cfg.servers.map((s) => s.name)).toEqual(['corp', 'files']);
    const corp = cfg.servers[0]!;
    expect(corp.kind === 'remote' && [corp.timeoutMs, corp.allowHttp, corp.transport, corp.tls.rejectUnauthorized]).toEqual([60_000, false, 'auto', true]);
    expect(Object.keys(cfg.auth.users)).toEqual(['alice']);
    expect(cfg.auth.allowedIps).toEqual([]);
    expect(cfg.maxSessionsPerClient).toBe(100);
    expect(cfg.dataDir).toMatch(/data$/);
  });

  it('what the command reads still fails, naming the variable; so does every reference for serve', () => {
    const doc = { dataDir: '${GH_T_DATA}', servers: { corp: { url: 'https://corp.example/mcp', timeout: '${GH_T_TIMEOUT}' } } };
    const issues = (options: Parameters<typeof resolveConfig>[3]) => {
      try {
        resolveConfig(native(doc), {}, {}, options);
      } catch (err) {
        if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
        throw err;
      }
      return [];
    };
    expect(issues(storeCommand)).toEqual(['dataDir: environment variable GH_T_DATA is not set']);
    expect(issues({})).toEqual(expect.arrayContaining(['dataDir: environment variable GH_T_DATA is not set', 'servers.corp.timeout: environment variable GH_T_TIMEOUT is not set']));
  });

  it('a structural problem beside an unset reference is still reported', () => {
    expect(() =>
      resolveConfig(native({ servers: { corp: { url: 'https://corp.example/mcp', timeout: '${GH_T_TIMEOUT}', bogus: 1 } } }), {}, {}, storeCommand),
    ).toThrow(/servers\.corp\.bogus: unknown key/);
  });
});
