// Security invariant (DESIGN.md): client metadata documents are fetched with SSRF guards.
// A client_id URL that points into this machine (or any special-use address) must not be
// fetched, even when the server there is trusted and would answer with a valid document.
// The gateway runs as a child process that trusts our test CA (NODE_EXTRA_CA_CERTS), so a
// refusal can only come from the guard, not from TLS; the control fetch below proves that.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe, tempRoot, type ServeRun } from './helpers/cli.js';
import { RAW_FIXTURE } from './helpers/gateway.js';

const REDIRECT = 'http://127.0.0.1:9/callback';

describe('client ID metadata documents behind an address of this machine', () => {
  const tmp = tempRoot('gh-cimd-ssrf-');
  let https: Server;
  let port = 0;
  const hits: string[] = [];
  let gw: ServeRun;
  let caFile = '';

  beforeAll(async () => {
    const dir = tmp.freshDir();
    caFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', keyFile, '-out', caFile,
    ], { stdio: 'ignore' });
    https = createServer({ key: readFileSync(keyFile), cert: readFileSync(caFile) }, (req, res) => {
      hits.push(req.url ?? '');
      const clientId = `https://${req.headers.host ?? ''}${req.url ?? ''}`;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ client_id: clientId, client_name: 'Inside job', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' }));
    });
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    port = (https.address() as AddressInfo).port;
    writeFileSync(
      join(dir, 'gatehouse.yaml'),
      [
        'listen: 127.0.0.1:0',
        'store: memory',
        'log: { level: info }',
        'auth: { mode: oauth, registration: { clientMetadataDocuments: true, allowedRedirectUris: ["http://127.0.0.1/callback"] } }',
        `servers: { a: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(RAW_FIXTURE)}] } }`,
        '',
      ].join('\n'),
    );
    gw = await startServe(['--config', join(dir, 'gatehouse.yaml')], dir, { NODE_EXTRA_CA_CERTS: caFile });
  });

  afterAll(async () => {
    gw?.child.kill('SIGKILL');
    await new Promise((resolve) => https?.close(resolve));
    tmp.remove();
  });

  it('control: a process that trusts the test CA can fetch the document', async () => {
    const url = `https://127.0.0.1:${port}/control.json`;
    // Not spawnSync: the https server answers from this very process.
    const r = await promisify(execFile)(process.execPath, ['-e', `fetch(${JSON.stringify(url)}).then((r) => r.json()).then((d) => console.log(d.client_name))`], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.stdout.trim()).toBe('Inside job');
    expect(hits).toContain('/control.json');
  });

  for (const host of ['127.0.0.1', 'localhost']) {
    it(`never fetches https://${host}:PORT/... and answers invalid_client`, async () => {
      const path = `/${host}-client.json`;
      const verifier = randomBytes(32).toString('base64url');
      const res = await fetch(
        `${gw.base}/oauth/authorize?${new URLSearchParams({
          response_type: 'code',
          client_id: `https://${host}:${port}${path}`,
          redirect_uri: REDIRECT,
          code_challenge: createHash('sha256').update(verifier).digest('base64url'),
          code_challenge_method: 'S256',
          resource: `${gw.base}/a/mcp`,
        }).toString()}`,
        { redirect: 'manual' },
      );
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      const text = await res.text();
      // The fetch was attempted and cut off (a URL refused outright would say otherwise).
      expect(text).toContain('invalid_client: client_id metadata document fetch failed');
      expect(hits).not.toContain(path);
    });
  }
});
