import { describe, expect, it } from 'vitest';
import { accepts } from './http-util.js';
import type { InboundRequest } from './reply.js';

const withAccept = (accept: string | null): InboundRequest => ({
  method: 'POST',
  url: 'http://localhost/mcp',
  headers: { get: (name: string) => (name === 'accept' ? accept : null) },
  body: '',
});

describe('accepts', () => {
  it('admits anything when there is no Accept header', () => {
    expect(accepts(withAccept(null), 'text/event-stream')).toBe(true);
  });

  it('reads listed types, wildcards, parameters and case', () => {
    const both = withAccept('Application/JSON; q=0.9, text/event-stream');
    expect(accepts(both, 'application/json')).toBe(true);
    expect(accepts(both, 'text/event-stream')).toBe(true);
    expect(accepts(both, 'text/html')).toBe(false);
    expect(accepts(withAccept('*/*'), 'text/event-stream')).toBe(true);
    expect(accepts(withAccept('text/*'), 'text/event-stream')).toBe(true);
    expect(accepts(withAccept('text/*'), 'application/json')).toBe(false);
    expect(accepts(withAccept('application/json'), 'text/event-stream')).toBe(false);
  });

  it('answers the same for a value seen before, and after many other values', () => {
    const value = 'application/json, text/event-stream';
    expect(accepts(withAccept(value), 'text/event-stream')).toBe(true);
    for (let i = 0; i < 200; i++) expect(accepts(withAccept(`application/x-${i}`), 'application/json')).toBe(false);
    expect(accepts(withAccept(value), 'text/event-stream')).toBe(true);
    expect(accepts(withAccept(value), 'text/html')).toBe(false);
  });
});
