// A tool filter that names a tool the server does not list is most likely a typo: with
// `allow` the tool the operator meant stays hidden, with `block` the tool they meant to block
// stays exposed. The gateway says so in its log, once per name, when a client lists tools.
import { Writable } from 'node:stream';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/observability/index.js';
import { rawStdio, startTestGateway } from './helpers/gateway.js';

const lines: Record<string, unknown>[] = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, done) {
    for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  },
});

let gw: Awaited<ReturnType<typeof startTestGateway>>;

beforeAll(async () => {
  gw = await startTestGateway(
    {
      servers: {
        allowTypo: rawStdio({ tools: { allow: ['echo', 'ecoh'] } }),
        blockTypo: rawStdio({ tools: { block: ['crahs'] } }),
        right: rawStdio({ tools: { allow: ['echo', 'state'] } }),
      },
    },
    { logger: createLogger({ level: 'info', destination: sink }) },
  );
}, 60_000);

afterAll(async () => {
  await gw?.close();
});

async function listTools(path: string): Promise<string[]> {
  const client = new Client({ name: 'filter-names-test', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.base}${path}`)));
  try {
    return (await client.listTools()).tools.map((t) => t.name);
  } finally {
    await client.close();
  }
}

const warningsFor = (server: string) => lines.filter((l) => l.level === 'warn' && l.server === server && typeof l.msg === 'string' && l.msg.includes('names tools it does not list'));

describe('tool filter names the server does not list', () => {
  it('warns once about an allow-list name the server lacks, and still filters', async () => {
    expect(await listTools('/allowTypo/mcp')).toEqual(['echo']);
    expect(await listTools('/allowTypo/mcp')).toEqual(['echo']);
    const said = warningsFor('allowTypo');
    expect(said).toHaveLength(1);
    expect(said[0]!.names).toEqual(['ecoh']);
    expect(said[0]!.msg).toContain('tools.allow of server "allowTypo"');
    expect(said[0]!.msg).toContain('stay hidden');
  });

  it('warns about a block-list name the server lacks (the tool meant stays exposed)', async () => {
    const names = await listTools('/blockTypo/mcp');
    expect(names).toContain('crash');
    const said = warningsFor('blockTypo');
    expect(said).toHaveLength(1);
    expect(said[0]!.names).toEqual(['crahs']);
    expect(said[0]!.msg).toContain('block nothing');
  });

  it('checks the aggregate route too (every page of the server list), once per name', async () => {
    const own: Record<string, unknown>[] = [];
    const ownSink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n')) if (line.trim()) own.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const agg = await startTestGateway(
      { servers: { typo: rawStdio({ tools: { allow: ['state', 'stat'] } }), plain: rawStdio() } },
      { logger: createLogger({ level: 'info', destination: ownSink }) },
    );
    try {
      const client = new Client({ name: 'filter-names-test', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${agg.base}/mcp`)));
      const names = (await client.listTools()).tools.map((t) => t.name);
      await client.listTools();
      await client.close();
      expect(names).toContain('typo__state');
      expect(names).not.toContain('typo__echo');
      const said = own.filter((l) => l.level === 'warn' && l.server === 'typo' && String(l.msg).includes('names tools it does not list'));
      expect(said).toHaveLength(1);
      expect(said[0]!.names).toEqual(['stat']);
    } finally {
      await agg.close();
    }
  });

  it('says nothing about a filter whose names the server lists', async () => {
    expect(await listTools('/right/mcp')).toEqual(['echo', 'state']);
    expect(warningsFor('right')).toHaveLength(0);
  });
});
