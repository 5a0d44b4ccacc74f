import SwaggerParser from '@apidevtools/swagger-parser';
import { describe, expect, it } from 'vitest';
import { silentLogger, type Logger } from '../observability/index.js';
import { MAX_DOCUMENT_TOOLS } from './document.js';
import { DocumentSource, type DocumentSettings } from './document-handler.js';
import type { ToolCatalog, ToolDefinition } from './tool-catalog.js';

// The document cache and the tool cap, with a stand-in catalog: a list keeps its identity
// until the catalog lists the server again (as ToolCatalog does).

const SETTINGS: DocumentSettings = { title: 'T', version: '1', bearer: false };

function catalogOf(lists: Record<string, readonly ToolDefinition[]>): ToolCatalog {
  return { tools: (server: string) => (lists[server] ? Promise.resolve(lists[server]) : Promise.reject(new Error('down'))) } as unknown as ToolCatalog;
}

describe('DocumentSource', () => {
  it('builds a document once per (route, servers, base URL, tool lists)', async () => {
    const lists: Record<string, readonly ToolDefinition[]> = { a: [{ name: 'x', inputSchema: { type: 'object' } }], b: [{ name: 'y', inputSchema: { type: 'object' } }] };
    const source = new DocumentSource(catalogOf(lists), SETTINGS, silentLogger());
    const all = { server: undefined, servers: ['a', 'b'], serverUrl: 'https://gw.example' };
    const first = await source.json(all);
    expect(await source.json(all)).toBe(first);
    expect(source.builds).toBe(1);
    // Another base URL, another server set, another route: each its own document.
    await source.json({ ...all, serverUrl: 'https://other.example' });
    await source.json({ ...all, servers: ['b'] });
    await source.json({ server: 'a', servers: ['a'], serverUrl: 'https://gw.example' });
    expect(source.builds).toBe(4);
    // A new listing (same content, new list) builds again.
    lists.a = [...lists.a!, { name: 'z', inputSchema: { type: 'object' } }];
    const changed = await source.json(all);
    expect(source.builds).toBe(5);
    expect(Object.keys((JSON.parse(changed) as { paths: object }).paths)).toContain('/api/tools/a__z');
  });

  it('shows at most MAX_DOCUMENT_TOOLS operations, and says so in the log', async () => {
    const many = Array.from({ length: MAX_DOCUMENT_TOOLS + 20 }, (_, i) => ({ name: `t${i}`, inputSchema: { type: 'object' } }));
    const warnings: unknown[] = [];
    const logger = { ...silentLogger(), warn: (obj: unknown, msg: string) => warnings.push([obj, msg]) } as unknown as Logger;
    const source = new DocumentSource(catalogOf({ a: many }), SETTINGS, logger);
    const doc = JSON.parse(await source.json({ server: 'a', servers: ['a'], serverUrl: 'https://gw.example' })) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toHaveLength(MAX_DOCUMENT_TOOLS);
    expect(JSON.stringify(warnings)).toContain('too many tools');
  });

  it('keeps the document of a chain of shared $defs small and valid: shared refs in components, an exploding one shown plain', async () => {
    const defs: Record<string, unknown> = { a0: { type: 'string' } };
    for (let i = 1; i <= 24; i++) defs[`a${i}`] = { type: 'object', properties: { l: { $ref: `#/$defs/a${i - 1}` }, r: { $ref: `#/$defs/a${i - 1}` } } };
    const tool = { name: 'bomb', inputSchema: { type: 'object', $defs: defs, properties: { x: { $ref: '#/$defs/a24' } } }, outputSchema: { type: 'object', $defs: defs, properties: { y: { $ref: '#/$defs/a3' }, z: { $ref: '#/$defs/a3' } } } };
    const source = new DocumentSource(catalogOf({ a: [tool] }), SETTINGS, silentLogger());
    const json = await source.json({ server: 'a', servers: ['a'], serverUrl: 'https://gw.example' });
    expect(json.length).toBeLessThan(20_000);
    const doc = JSON.parse(json) as { paths: Record<string, { post: Record<string, unknown> }>; components: { schemas: Record<string, unknown> } };
    const op = doc.paths['/a/api/tools/bomb']!.post as { requestBody: { content: Record<string, { schema: unknown }> }; responses: Record<string, { content: Record<string, { schema: unknown }> }> };
    // 2^24 subschemas expanded: the input is shown as a plain object.
    expect(op.requestBody.content['application/json']!.schema).toMatchObject({ type: 'object', description: expect.stringMatching(/too large/) as unknown });
    // The output uses a3 twice (so a0..a3 each twice): each once under components.
    expect(op.responses['200']!.content['application/json']!.schema).toEqual({
      type: 'object',
      properties: { y: { $ref: '#/components/schemas/bomb.output.a3' }, z: { $ref: '#/components/schemas/bomb.output.a3' } },
    });
    expect(Object.keys(doc.components.schemas).sort()).toEqual(['Problem', 'bomb.output.a0', 'bomb.output.a1', 'bomb.output.a2', 'bomb.output.a3']);
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeTruthy();
  });
});
