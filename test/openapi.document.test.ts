// The OpenAPI documents of real upstreams through a real gateway: the reference
// `@modelcontextprotocol/server-everything` (stdio) and our conformance fixture, checked by
// a real OpenAPI 3.1 validator (swagger-parser), with every $ref resolvable inside the document.
import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { everythingStdio, rawStdio, REFERENCE_EVERYTHING, startTestGateway } from './helpers/gateway.js';

type Doc = {
  openapi: string;
  servers: { url: string }[];
  paths: Record<string, { post: Record<string, unknown> & { operationId: string; summary: string; description?: string } }>;
  components: Record<string, Record<string, unknown>>;
};

/**
 * A stdio server whose tools have chains of shared $defs: in `bomb`, a{i} uses a{i-1} twice,
 * 21 links (a 2 KB schema, 2^21 subschemas when every reference is inlined); in `shared`, 3
 * links (small enough to show: each shared def once under components).
 */
const CHAIN_SERVER = `
const chain = (depth) => {
  const defs = { a0: { type: 'string' } };
  for (let i = 1; i <= depth; i++) defs['a' + i] = { type: 'object', properties: { l: { $ref: '#/$defs/a' + (i - 1) }, r: { $ref: '#/$defs/a' + (i - 1) } } };
  return { type: 'object', $defs: defs, properties: { x: { $ref: '#/$defs/a' + depth } } };
};
const tools = [{ name: 'bomb', description: 'x', inputSchema: chain(21) }, { name: 'shared', description: 'y', inputSchema: chain(3) }];
const send = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
require('node:readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const m = JSON.parse(line);
  if (m.method === 'initialize') send({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'chain', version: '1' } } });
  else if (m.method === 'tools/list') send({ jsonrpc: '2.0', id: m.id, result: { tools } });
  else if (m.id !== undefined) send({ jsonrpc: '2.0', id: m.id, result: { content: [{ type: 'text', text: JSON.stringify(m.params ?? null) }] } });
});
`;

let gw: Awaited<ReturnType<typeof startTestGateway>>;
beforeAll(async () => {
  gw = await startTestGateway({
    publicUrl: 'https://tools.example.com',
    openapi: { title: 'Test tools' },
    servers: {
      reference: { command: process.execPath, args: [REFERENCE_EVERYTHING, 'stdio'], tools: { block: ['trigger-long-running-operation'] } },
      fixture: everythingStdio(),
      raw: rawStdio({ tools: { allow: ['echo', 'list_changed', 'state'] } }),
      chain: { command: process.execPath, args: ['-e', CHAIN_SERVER] },
    },
  });
}, 60_000);
afterAll(async () => {
  await gw?.close();
});

async function documentAt(path: string): Promise<Doc> {
  const res = await fetch(`${gw.base}${path}`, { headers: { host: 'localhost' } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('application/json');
  return (await res.json()) as Doc;
}

/** Every `$ref` string anywhere in the document. */
function refsOf(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => refsOf(n, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refsOf(v, out);
    }
  }
  return out;
}

function pointerResolves(doc: unknown, ref: string): boolean {
  if (!ref.startsWith('#/')) return false;
  let node: unknown = doc;
  for (const token of ref.slice(2).split('/').map((t) => decodeURIComponent(t).replace(/~1/g, '/').replace(/~0/g, '~'))) {
    if (!node || typeof node !== 'object' || !(token in node)) return false;
    node = (node as Record<string, unknown>)[token];
  }
  return true;
}

async function expectValid(doc: Doc): Promise<void> {
  // validate() dereferences a copy and checks it against the OpenAPI 3.1 schema.
  await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeTruthy();
  const refs = refsOf(doc);
  for (const ref of refs) expect(pointerResolves(doc, ref), `dangling ${ref}`).toBe(true);
  // Only our own component references remain; the tools' $defs were resolved away.
  expect(refs.every((r) => r.startsWith('#/components/'))).toBe(true);
  expect(JSON.stringify(doc)).not.toContain('"$defs"');
  expect(JSON.stringify(doc)).not.toContain('"$schema"');
}

function expectChatGptRules(doc: Doc): void {
  const ids = Object.values(doc.paths).map((p) => p.post.operationId);
  expect(new Set(ids).size).toBe(ids.length);
  for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
  for (const p of Object.values(doc.paths)) {
    expect([...p.post.summary].length).toBeLessThanOrEqual(300);
    expect([...(p.post.description ?? '')].length).toBeLessThanOrEqual(300);
  }
}

describe('OpenAPI documents', () => {
  it('describes @modelcontextprotocol/server-everything as valid OpenAPI 3.1, blocked tool left out', async () => {
    const doc = await documentAt('/reference/openapi.json');
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers).toEqual([{ url: 'https://tools.example.com' }]);
    expect(Object.keys(doc.paths)).toContain('/reference/api/tools/echo');
    expect(Object.keys(doc.paths)).not.toContain('/reference/api/tools/trigger-long-running-operation');
    expect(doc.paths['/reference/api/tools/echo']!.post.requestBody).toMatchObject({
      content: { 'application/json': { schema: { type: 'object', properties: { message: { type: 'string' } } } } },
    });
    // outputSchema is the 200 response's schema; a read-only tool is not "consequential".
    const structured = doc.paths['/reference/api/tools/get-structured-content']!.post as unknown as {
      responses: Record<string, { content?: Record<string, { schema: { properties?: Record<string, unknown> } }> }>;
      'x-openai-isConsequential': boolean;
    };
    expect(Object.keys(structured.responses['200']!.content!['application/json']!.schema.properties ?? {})).toEqual(['temperature', 'conditions', 'humidity']);
    expect(structured['x-openai-isConsequential']).toBe(false);
    await expectValid(doc);
    expectChatGptRules(doc);
  });

  it('describes the conformance fixture, with its 2020-12 $defs/$ref schema inlined', async () => {
    const doc = await documentAt('/fixture/openapi.json');
    const op = doc.paths['/fixture/api/tools/json_schema_2020_12_tool']!.post as unknown as { requestBody: { content: Record<string, { schema: Record<string, unknown> }> } };
    const schema = op.requestBody.content['application/json']!.schema;
    expect((schema.properties as Record<string, unknown>).address).toEqual({
      type: 'object',
      properties: { street: { type: 'string' }, city: { type: 'string' } },
    });
    expect(schema.if).toBeDefined();
    await expectValid(doc);
    expectChatGptRules(doc);
  });

  it('serves every server in /openapi.json under aggregate names, with OAuth-free security when auth is off', async () => {
    const doc = await documentAt('/openapi.json');
    const paths = Object.keys(doc.paths);
    expect(paths).toContain('/api/tools/reference__echo');
    expect(paths).toContain('/api/tools/fixture__test_simple_text');
    expect(paths).toContain('/api/tools/raw__echo');
    expect(paths).not.toContain('/api/tools/raw__crash');
    expect(paths.some((p) => p.includes('trigger-long-running-operation'))).toBe(false);
    expect(doc.components.securitySchemes).toBeUndefined();
    await expectValid(doc);
    expectChatGptRules(doc);
  });

  it('updates the document when a server announces a tool-list change', async () => {
    const before = await documentAt('/raw/openapi.json');
    expect(Object.keys(before.paths)).toContain('/raw/api/tools/echo');
    // The raw fixture sends notifications/tools/list_changed from this tool; the bridge's cached
    // list is dropped, so the next document is listed anew. The fixture records every request id
    // and every tools/call: the difference counts the other requests (tools/list here).
    const countLists = async () => {
      const res = await fetch(`${gw.base}/raw/api/tools/state`, { method: 'POST', headers: { 'content-type': 'application/json', host: 'localhost' }, body: '{}' });
      const state = JSON.parse(((await res.json()) as string[])[0]!) as { ids: unknown[]; tools: unknown[] };
      return state.ids.length - state.tools.length;
    };
    const listsBefore = await countLists();
    await documentAt('/raw/openapi.json');
    expect(await countLists()).toBe(listsBefore);
    const changed = await fetch(`${gw.base}/raw/api/tools/list_changed`, { method: 'POST', headers: { 'content-type': 'application/json', host: 'localhost' }, body: '{}' });
    expect(changed.status).toBe(200);
    await documentAt('/raw/openapi.json');
    expect(await countLists()).toBe(listsBefore + 1);
  });

  it('writes shared $defs once under components, and shows a schema that explodes when expanded as a plain object', async () => {
    const res = await fetch(`${gw.base}/chain/openapi.json`);
    expect(res.status).toBe(200);
    const text = await res.text();
    // Every reference inlined, `bomb` alone would be over 100 MB.
    expect(text.length).toBeLessThan(20_000);
    const doc = JSON.parse(text) as Doc;
    const bodyOf = (tool: string) => (doc.paths[`/chain/api/tools/${tool}`]!.post as unknown as { requestBody: { content: Record<string, { schema: Record<string, unknown> }> } }).requestBody.content['application/json']!.schema;
    expect(bodyOf('bomb')).toMatchObject({ type: 'object', description: expect.stringMatching(/too large/) as unknown });
    // a3 is used once (inlined); a0..a2 twice each: once each under components, referred to there.
    expect(bodyOf('shared')).toEqual({
      type: 'object',
      properties: { x: { type: 'object', properties: { l: { $ref: '#/components/schemas/shared.a2' }, r: { $ref: '#/components/schemas/shared.a2' } } } },
    });
    expect(doc.components.schemas!['shared.a0']).toEqual({ type: 'string' });
    expect(doc.components.schemas!['shared.a1']).toEqual({
      type: 'object',
      properties: { l: { $ref: '#/components/schemas/shared.a0' }, r: { $ref: '#/components/schemas/shared.a0' } },
    });
    await expectValid(doc);
    expectChatGptRules(doc);
    // The calls still work, whatever the document shows.
    const call = await fetch(`${gw.base}/chain/api/tools/bomb`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":{"l":{}}}' });
    expect(call.status).toBe(200);
    // ...and are still checked against the full schema (a20 is an object, not a string).
    const invalid = await fetch(`${gw.base}/chain/api/tools/bomb`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":{"l":"a"}}' });
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { errors: { pointer: string }[] }).errors.map((e) => e.pointer)).toEqual(['/x/l']);
  });

  it('answers 404 for an unknown server', async () => {
    const res = await fetch(`${gw.base}/nope/openapi.json`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
  });
});

describe('openapi.enabled: false', () => {
  it('turns the routes off', async () => {
    const off = await startTestGateway({ openapi: { enabled: false }, servers: { raw: rawStdio() } });
    try {
      expect((await fetch(`${off.base}/openapi.json`)).status).toBe(404);
      expect((await fetch(`${off.base}/raw/api/tools/echo`, { method: 'POST', body: '{}' })).status).toBe(404);
    } finally {
      await off.close();
    }
  });
});

describe('cross-site requests (auth.mode none)', () => {
  // What a page on another site can send without a CORS preflight: fetch(url, { method: 'POST',
  // mode: 'no-cors', body: Uint8Array }) goes out with no Content-Type; a sandboxed or
  // file: page sends `Origin: null`, which the guard of auth.mode none refuses like any other
  // foreign origin (docs/decisions/0015-cors.md, "auth.mode none on any bind").
  const bytes = () => new TextEncoder().encode('{"message":"forged"}');
  const toolCalls = async (): Promise<unknown[]> => {
    const res = await fetch(`${gw.base}/raw/api/tools/state`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    return (JSON.parse(((await res.json()) as string[])[0]!) as { tools: unknown[] }).tools;
  };

  it('refuses a POST from Origin: null (403), with or without Content-Type and body, before the tool runs', async () => {
    const before = (await toolCalls()).length;
    for (const body of [bytes(), undefined]) {
      const res = await fetch(`${gw.base}/api/tools/raw__echo`, { method: 'POST', headers: { origin: 'null' }, ...(body ? { body } : {}) });
      expect(res.status).toBe(403);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    for (const body of [bytes(), undefined]) {
      const res = await fetch(`${gw.base}/api/tools/raw__echo`, { method: 'POST', headers: { origin: 'null', 'content-type': 'application/json' }, ...(body ? { body } : {}) });
      expect(res.status).toBe(403);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    // Only the state call itself reached the server.
    expect((await toolCalls()).length).toBe(before + 1);
  });

  it('refuses a POST from another site: 403', async () => {
    const res = await fetch(`${gw.base}/api/tools/raw__echo`, { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(403);
    const bare = await fetch(`${gw.base}/api/tools/raw__echo`, { method: 'POST', headers: { origin: 'https://evil.example' }, body: bytes() });
    expect(bare.status).toBe(403);
  });

  it('refuses a body without Content-Type even with no Origin: 415', async () => {
    const res = await fetch(`${gw.base}/api/tools/raw__echo`, { method: 'POST', body: bytes() });
    expect(res.status).toBe(415);
  });

  it('accepts JSON without Origin or from its own origin, and a bare POST with no body and no Origin', async () => {
    const json = await fetch(`${gw.base}/api/tools/raw__echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bytes() });
    expect(json.status).toBe(200);
    expect(JSON.stringify(await json.json())).toContain('forged');
    const sameSite = await fetch(`${gw.base}/api/tools/raw__echo`, { method: 'POST', headers: { origin: gw.base, 'content-type': 'application/vnd.example+json; charset=utf-8' }, body: '{}' });
    expect(sameSite.status).toBe(200);
    const bare = await fetch(`${gw.base}/api/tools/raw__echo`, { method: 'POST' });
    expect(bare.status).toBe(200);
  });
});
