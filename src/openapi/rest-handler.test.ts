import { describe, expect, it } from 'vitest';
import { ArgumentValidator, type ArgumentCheck } from './arguments.js';
import { handleToolCall, type RestCallDeps } from './rest-handler.js';
import type { ToolCatalog, ToolDefinition } from './tool-catalog.js';

// The call path without a gateway: a stand-in catalog that records what reaches the server.

function deps(tool: ToolDefinition, validator: Pick<ArgumentValidator, 'checkerFor'> = new ArgumentValidator()): RestCallDeps & { calls: unknown[] } {
  const calls: unknown[] = [];
  const catalog = {
    tools: () => Promise.resolve([tool]),
    call: (_server: string, _tool: string, args: Record<string, unknown>) => {
      calls.push(args);
      return Promise.resolve({ jsonrpc: '2.0' as const, id: 1, result: { content: [{ type: 'text', text: 'ok' }] } });
    },
  } as unknown as ToolCatalog;
  return { catalog, validator: validator as ArgumentValidator, calls };
}

const call = (body: string) => ({ server: 's', tool: 't', allowedServers: ['s'], principal: 'p', body });
const RECURSIVE = { type: 'object', properties: { node: { $ref: '#/$defs/n' } }, $defs: { n: { type: 'object', properties: { c: { $ref: '#/$defs/n' } } } } };

describe('handleToolCall', () => {
  it('refuses a body nested past the limit with 400 before validating, and never calls the server', async () => {
    const d = deps({ name: 't', inputSchema: RECURSIVE });
    const depth = 200_000;
    const answer = await handleToolCall(call(`{"node":${'{"c":'.repeat(depth)}{}${'}'.repeat(depth)}}`), d);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ title: 'The body is nested too deeply' });
    const fine = await handleToolCall(call(`{"node":${'{"c":'.repeat(10)}{}${'}'.repeat(10)}}`), d);
    expect(fine.status).toBe(200);
    expect(d.calls).toHaveLength(1);
  });

  it('answers 400, not 500, when the validator throws', async () => {
    const throwing: ArgumentCheck = () => {
      throw new RangeError('Maximum call stack size exceeded');
    };
    const d = deps({ name: 't', inputSchema: { type: 'object' } }, { checkerFor: () => throwing });
    const answer = await handleToolCall(call('{"a":1}'), d);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ type: 'urn:gatehouse:problem:invalid-arguments' });
    expect(d.calls).toHaveLength(0);
  });

  it('lists the first 50 errors and says how many more there were', async () => {
    const d = deps({ name: 't', inputSchema: { type: 'object', additionalProperties: false } });
    const body = Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`x${i}`, i]));
    const answer = await handleToolCall(call(JSON.stringify(body)), d);
    expect(answer.status).toBe(400);
    const problem = answer.body as { detail: string; errors: unknown[] };
    expect(problem.errors).toHaveLength(50);
    expect(problem.detail).toMatch(/^120 problems with the arguments: .*; and 70 more$/);
    expect(d.calls).toHaveLength(0);
  });
});

describe('aggregate names (the route names no server)', () => {
  /** A catalog of one server's tools that records which server and tool each call reached. */
  function recording(names: readonly string[]): RestCallDeps & { reached: string[] } {
    const reached: string[] = [];
    const catalog = {
      tools: () => Promise.resolve(names.map((name) => ({ name, inputSchema: { type: 'object' } }))),
      call: (server: string, tool: string) => {
        reached.push(`${server}/${tool}`);
        return Promise.resolve({ jsonrpc: '2.0' as const, id: 1, result: { content: [] } });
      },
    } as unknown as ToolCatalog;
    return { catalog, validator: new ArgumentValidator(), reached };
  }
  const aggregate = (tool: string, soleServer: string | undefined, allowedServers = ['default']) => ({ server: undefined, tool, allowedServers, principal: 'p', body: '', soleServer });

  it('with one server: a bare name is its tool; {server}__x is always tool x', async () => {
    const d = recording(['x', 'default__x', 'a__b']);
    for (const name of ['x', 'default__x', 'default__default__x', 'a__b']) {
      expect((await handleToolCall(aggregate(name, 'default'), d)).status, name).toBe(200);
    }
    expect(d.reached).toEqual(['default/x', 'default/x', 'default/default__x', 'default/a__b']);
  });

  it('a server the caller may not use stays closed, by either name', async () => {
    const d = recording(['x']);
    for (const name of ['x', 'default__x']) expect((await handleToolCall(aggregate(name, 'default', []), d)).status, name).toBe(404);
    expect(d.reached).toEqual([]);
  });

  it('without a sole server: only {server}__{tool} names a tool', async () => {
    const d = recording(['x', 'a__b']);
    for (const name of ['x', 'a__b', '__x', 'default__']) expect((await handleToolCall(aggregate(name, undefined), d)).status, name).toBe(404);
    expect((await handleToolCall(aggregate('default__x', undefined), d)).status).toBe(200);
    expect(d.reached).toEqual(['default/x']);
  });
});
