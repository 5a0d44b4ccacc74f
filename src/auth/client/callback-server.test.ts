import { request } from 'node:http';

import { afterEach, describe, expect, it } from 'vitest';

import { AuthorizationResponseError, CallbackServer } from './callback-server.js';

function get(port: number, path: string, host = `127.0.0.1:${port}`): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

let server: CallbackServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('CallbackServer', () => {
  it('answers the login with the right state and hands over code and iss', async () => {
    server = await CallbackServer.start(0);
    expect(server.redirectUrl).toBe(`http://127.0.0.1:${server.port}/callback`);
    server.expect('state-1');
    const answer = server.wait(5_000);
    const res = await get(server.port, '/callback?code=abc&state=state-1&iss=https%3A%2F%2Fas.example.com');
    expect(res.status).toBe(200);
    expect(res.body).toContain('close this tab');
    await expect(answer).resolves.toEqual({ code: 'abc', iss: 'https://as.example.com' });
  });

  it('refuses a wrong state and keeps waiting for the right one', async () => {
    server = await CallbackServer.start(0);
    server.expect('good');
    const answer = server.wait(5_000);
    expect((await get(server.port, '/callback?code=evil&state=bad')).status).toBe(400);
    expect((await get(server.port, '/callback?code=evil')).status).toBe(400);
    expect((await get(server.port, '/callback?code=fine&state=good')).status).toBe(200);
    await expect(answer).resolves.toMatchObject({ code: 'fine' });
  });

  it('refuses another Host header (DNS rebinding) and other paths', async () => {
    server = await CallbackServer.start(0);
    server.expect('s');
    const answer = server.wait(5_000);
    answer.catch(() => undefined);
    expect((await get(server.port, '/callback?code=x&state=s', `evil.example.com:${server.port}`)).status).toBe(421);
    expect((await get(server.port, '/other?code=x&state=s')).status).toBe(404);
    expect((await get(server.port, '/callback?code=x&state=s', `localhost:${server.port}`)).status).toBe(200);
    await expect(answer).resolves.toMatchObject({ code: 'x' });
  });

  it('passes on an error answer from the authorization server', async () => {
    server = await CallbackServer.start(0);
    server.expect('s');
    const answer = server.wait(5_000);
    answer.catch(() => undefined);
    expect((await get(server.port, '/callback?error=access_denied&error_description=no&state=s')).status).toBe(400);
    await expect(answer).rejects.toBeInstanceOf(AuthorizationResponseError);
  });

  it('times out', async () => {
    server = await CallbackServer.start(0);
    server.expect('s');
    await expect(server.wait(50)).rejects.toThrow(/no answer from the browser login/);
  });
});
