// ClientInputs alone: the server->client requests of an `input_required` result, their
// replies, and their withdrawal. The whole round trip through a server: modern-adapter.test.ts.
import { describe, expect, it } from 'vitest';

import type { JsonRpcMessage } from '../../jsonrpc/index.js';
import { silentLogger } from '../../observability/index.js';
import { ClientInputs, InputFailed, type InputWait } from './modern-input.js';

function setup(): { inputs: ClientInputs; sent: JsonRpcMessage[]; wait: InputWait; close: () => void } {
  const sent: JsonRpcMessage[] = [];
  let closed = false;
  const inputs = new ClientInputs({ name: 'srv', logger: silentLogger(), send: (m) => sent.push(m), closed: () => closed });
  return { inputs, sent, wait: { inputs: new Set(), interrupt: undefined }, close: () => (closed = true) };
}

describe('ClientInputs', () => {
  it('sends each embedded request up with an ir-N id and resolves with the answers by key', async () => {
    const { inputs, sent, wait } = setup();
    const answers = inputs.ask(wait, {
      pick: { method: 'elicitation/create', params: { message: 'which?' } },
      roots: { method: 'roots/list' },
    });
    expect(sent).toEqual([
      { jsonrpc: '2.0', id: 'ir-1', method: 'elicitation/create', params: { message: 'which?' } },
      { jsonrpc: '2.0', id: 'ir-2', method: 'roots/list' },
    ]);
    expect([...wait.inputs]).toEqual(['ir-1', 'ir-2']);
    expect(wait.interrupt).toBeTypeOf('function');

    inputs.settle({ jsonrpc: '2.0', id: 'ir-2', result: { roots: [] } });
    inputs.settle({ jsonrpc: '2.0', id: 'ir-1', result: { action: 'accept', content: { x: 1 } } });
    await expect(answers).resolves.toEqual({ pick: { action: 'accept', content: { x: 1 } }, roots: { roots: [] } });
    expect(wait.inputs.size).toBe(0);
    expect(wait.interrupt).toBeUndefined();

    // Ids go on counting; a reply to a settled or unknown id is dropped.
    void inputs.ask(wait, { again: { method: 'roots/list' } });
    expect(sent.at(-1)).toMatchObject({ id: 'ir-3' });
    inputs.settle({ jsonrpc: '2.0', id: 'ir-1', result: {} });
    inputs.settle({ jsonrpc: '2.0', id: 7, result: {} });
    expect([...wait.inputs]).toEqual(['ir-3']);
  });

  it('gives a URL-mode elicitation the elicitationId 2025-11-25 clients expect, and keeps one the server gave', () => {
    const { inputs, sent, wait } = setup();
    void inputs.ask(wait, {
      a: { method: 'elicitation/create', params: { mode: 'url', url: 'https://example.test/a' } },
      b: { method: 'elicitation/create', params: { mode: 'url', url: 'https://example.test/b', elicitationId: 'theirs' } },
    });
    expect(sent.map((m) => ('params' in m ? m.params?.elicitationId : undefined))).toEqual(['ir-1', 'theirs']);
  });

  it('rejects with InputFailed on an error reply or a malformed ask (nothing sent up)', async () => {
    const { inputs, sent, wait } = setup();
    const answers = inputs.ask(wait, { a: { method: 'sampling/createMessage', params: {} } });
    inputs.settle({ jsonrpc: '2.0', id: 'ir-1', error: { code: -32600, message: 'no sampling here' } });
    await expect(answers).rejects.toThrow(InputFailed);
    await expect(answers).rejects.toThrow('the client could not answer sampling/createMessage for upstream "srv": no sampling here');

    const before = sent.length;
    await expect(inputs.ask({ inputs: new Set(), interrupt: undefined }, { ok: { method: 'roots/list' }, bad: { params: {} } })).rejects.toThrow(
      'upstream "srv" sent a malformed input request "bad"',
    );
    expect(sent.length).toBe(before);
  });

  it('withdraws what a call still waits for with notifications/cancelled, but not once the link is closed', async () => {
    const { inputs, sent, wait, close } = setup();
    const answers = inputs.ask(wait, { a: { method: 'roots/list' }, b: { method: 'roots/list' } });
    inputs.settle({ jsonrpc: '2.0', id: 'ir-1', result: { roots: [] } });
    wait.interrupt?.(new Error('cancelled by the client'));
    await expect(answers).rejects.toThrow('cancelled by the client');

    inputs.drop(wait, 'cancelled by the client');
    expect(sent.at(-1)).toEqual({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'ir-2', reason: 'cancelled by the client' } });
    expect(wait.inputs.size).toBe(0);
    expect(wait.interrupt).toBeUndefined();
    inputs.settle({ jsonrpc: '2.0', id: 'ir-2', result: { roots: [] } }); // withdrawn: dropped

    const later: InputWait = { inputs: new Set(), interrupt: undefined };
    void inputs.ask(later, { c: { method: 'roots/list' } });
    const count = sent.length;
    close();
    inputs.drop(later, 'the request is over');
    expect(sent.length).toBe(count);
    expect(later.inputs.size).toBe(0);
  });
});
