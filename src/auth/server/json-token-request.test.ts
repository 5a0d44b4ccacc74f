import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formFromJson, isJsonContentType, jsonTokenRequest } from './json-token-request.js';

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

describe('formFromJson: the same parameters a form would carry', () => {
  it('refuses a member given twice, as the provider refuses a repeated form parameter', () => {
    expect(formFromJson(Buffer.from('{"client_id":"pub","client_id":"robot"}'))).toEqual({ ok: false, description: 'parameter "client_id" must not be provided twice' });
    // The same name spelled with an escape is the same name.
    expect(formFromJson(Buffer.from('{"client_id":"pub","client\\u005fid":"robot"}')).ok).toBe(false);
    // Whatever the earlier value was: JSON.parse dropped it, the form would carry both.
    for (const body of ['{"client_id":1,"client_id":"robot"}', '{"client_id":{"k":"v"},"client_id":"robot"}', '{"scope":["a","b"],"scope":"admin"}', '{"a":"x","b":[{"a":"y"}],"b":"z"}']) {
      expect(formFromJson(Buffer.from(body)).ok, body).toBe(false);
    }
    // Names and colons inside values do not count as members.
    const tricky = formFromJson(Buffer.from('{"a":"\\"b\\":","b":"a","c":"\\\\"}'));
    expect(tricky.ok).toBe(true);
    if (tricky.ok) expect([...new URLSearchParams(tricky.form)]).toEqual([['a', '"b":'], ['b', 'a'], ['c', '\\']]);
  });

  it('refuses an unpaired surrogate, which a form would turn into U+FFFD; a pair is a character', () => {
    expect(formFromJson(Buffer.from('{"client_secret":"x\\ud800"}')).ok).toBe(false);
    expect(formFromJson(Buffer.from('{"client_secret\\udc00":"x"}')).ok).toBe(false);
    const pair = formFromJson(Buffer.from('{"client_secret":"\\ud83d\\ude00"}'));
    expect(pair).toEqual({ ok: true, form: 'client_secret=%F0%9F%98%80' });
  });
});

describe('jsonTokenRequest', () => {
  const request = (body: string): IncomingMessage =>
    Object.assign(Readable.from([Buffer.from(body)]), { headers: { 'content-length': String(Buffer.byteLength(body)) } }) as unknown as IncomingMessage;

  it('applies the limit to the form the provider reads, not only to the JSON', async () => {
    // 1,000 "é" are 2,000 bytes of JSON and 6,000 bytes of form.
    const body = JSON.stringify({ grant_type: 'client_credentials', scope: 'é'.repeat(1000) });
    expect(Buffer.byteLength(body)).toBeLessThan(4096);
    const out = await jsonTokenRequest(request(body), 4096);
    expect(out).toEqual({ ok: false, description: 'the request body is larger than 4096 bytes once written as a form', close: false });
    expect((await jsonTokenRequest(request(body), 8192)).ok).toBe(true);
  });
});

describe('isJsonContentType', () => {
  it('knows JSON by its media type, not its parameters', () => {
    for (const t of ['application/json', 'Application/JSON; charset=utf-8', 'application/vnd.example+json']) expect(isJsonContentType(t), t).toBe(true);
    for (const t of [undefined, '', 'application/x-www-form-urlencoded', 'text/json', 'text/plain; a=application/json', 'application/jsonx']) expect(isJsonContentType(t), t).toBe(false);
  });
});
