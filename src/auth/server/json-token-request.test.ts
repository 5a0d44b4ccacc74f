import { describe, expect, it } from 'vitest';
import { formFromJson, isJsonContentType } from './json-token-request.js';

describe('formFromJson', () => {
  it('makes each string member one form parameter', () => {
    const out = formFromJson(Buffer.from(JSON.stringify({ grant_type: 'client_credentials', client_id: 'a b&c=d', scope: '' })));
    expect(out.ok).toBe(true);
    if (!out.ok) return;
    expect([...new URLSearchParams(out.form)]).toEqual([
      ['grant_type', 'client_credentials'],
      ['client_id', 'a b&c=d'],
      ['scope', ''],
    ]);
  });

  it('refuses anything but an object of strings', () => {
    for (const body of ['[]', '1', '"x"', 'null', '{"a":{"b":"c"}}', '{"a":["b"]}', '{"a":1}', '{"a":false}', '{"a":null}', '{', '']) {
      expect(formFromJson(Buffer.from(body)).ok, body).toBe(false);
    }
    expect(formFromJson(Buffer.from([0x7b, 0x22, 0xc3, 0x22, 0x3a, 0x22, 0x22, 0x7d]))).toEqual({ ok: false, description: 'the JSON body is not valid UTF-8' });
  });
});

describe('isJsonContentType', () => {
  it('knows JSON by its media type, not its parameters', () => {
    for (const t of ['application/json', 'Application/JSON; charset=utf-8', 'application/vnd.example+json']) expect(isJsonContentType(t), t).toBe(true);
    for (const t of [undefined, '', 'application/x-www-form-urlencoded', 'text/json', 'text/plain; a=application/json', 'application/jsonx']) expect(isJsonContentType(t), t).toBe(false);
  });
});
