// A small real authorization server and protected MCP server on one port, for the outbound
// OAuth client's tests: client_credentials (client_secret_basic and _post), the device
// authorization grant (RFC 8628, approved by the test over HTTP), authorization_code with
// PKCE (its /authorize redirects at once, for scripts/conformance/fake-browser.mjs),
// refresh_token, and dynamic registration. Discovery documents can be switched off
// (`discovery = false`) to stand for a server without RFC 9728 / RFC 8414 metadata.
import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, jwtVerify } from 'jose';

import { closeServer } from './http-stub.js';

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

interface DeviceCode {
  userCode: string;
  clientId: string;
  approved: boolean;
  denied: boolean;
  expired: boolean;
  polls: number;
}

export class OAuthStandIn {
  base = '';
  /** Serve the well-known metadata documents. */
  discovery = true;
  tokenTtlS = 3600;
  /** Device flow: answer slow_down to this many polls first (RFC 8628 §3.5). */
  slowDowns = 0;
  /** Device flow: seconds between polls the server asks for. */
  deviceInterval = 1;
  /** Pre-registered confidential clients: id -> secret. */
  readonly clients = new Map<string, string>();
  /** Pre-registered private_key_jwt clients (RFC 7523 §2.2): id -> public key. */
  readonly keyClients = new Map<string, KeyObject>();
  /** Advertise client_id_metadata_document_supported (a client_id may be an https URL). */
  cimd = false;
  /** Every request to the authorization server's endpoints (not /mcp), as it arrived. */
  readonly requests: { method: string; path: string; query: URLSearchParams; form: URLSearchParams; authorization: string | undefined }[] = [];
  readonly counts = {
    register: 0,
    authorize: 0,
    clientCredentials: 0,
    deviceAuthorization: 0,
    devicePolls: 0,
    slowDown: 0,
    deviceIssued: 0,
    refresh: 0,
    code: 0,
    mcp: 0,
    mcp401: 0,
    metadata: 0,
  };
  /** Every secret value this server made or was given: tokens, codes, device and user codes, client secrets. */
  readonly secrets: string[] = [];
  /** User codes handed out by the device authorization endpoint. */
  readonly userCodes: string[] = [];
  /** How each client authenticated at the token endpoint (`basic`, `post`, `none`). */
  readonly authMethods: string[] = [];
  readonly #server: Server;
  readonly #access = new Map<string, { expires: number; client: string }>();
  readonly #refresh = new Map<string, string>();
  readonly #codes = new Map<string, { challenge: string; client: string }>();
  readonly #devices = new Map<string, DeviceCode>();

  constructor() {
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  get mcpUrl(): string {
    return `${this.base}/mcp`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    await closeServer(this.#server);
  }

  addClient(id: string, secret: string): void {
    this.clients.set(id, secret);
    this.secrets.push(secret);
  }

  /** Access tokens stop working (refresh tokens and client credentials still do). */
  expireAccessTokens(): void {
    this.#access.clear();
  }

  /** The person approves the device code with this user code; false when there is none. */
  approve(userCode: string): boolean {
    for (const device of this.#devices.values()) {
      if (device.userCode === userCode) {
        device.approved = true;
        return true;
      }
    }
    return false;
  }

  deny(userCode: string): boolean {
    for (const device of this.#devices.values()) if (device.userCode === userCode) device.denied = true;
    return true;
  }

  /** Every outstanding device code expires now. */
  expireDeviceCodes(): void {
    for (const device of this.#devices.values()) device.expired = true;
  }

  #secret(prefix: string): string {
    const value = `${prefix}-${randomBytes(12).toString('hex')}`;
    this.secrets.push(value);
    return value;
  }

  #issue(client: string, withRefresh: boolean): Record<string, unknown> {
    const access = this.#secret('at');
    this.#access.set(access, { expires: Date.now() + this.tokenTtlS * 1000, client });
    const out: Record<string, unknown> = { access_token: access, token_type: 'Bearer', expires_in: this.tokenTtlS, scope: 'mcp' };
    if (withRefresh) {
      const refresh = this.#secret('rt');
      this.#refresh.set(refresh, client);
      out.refresh_token = refresh;
    }
    return out;
  }

  /** RFC 6749 §2.3.1: Basic (form-urlencoded id and secret) or the body; public clients send client_id only; or a signed assertion. */
  async #authenticate(req: IncomingMessage, form: URLSearchParams): Promise<{ client: string; method: string } | undefined> {
    const assertion = form.get('client_assertion');
    if (assertion !== null) {
      // RFC 7523 §3: client_id is optional; the assertion's iss names the client.
      let id = form.get('client_id');
      try {
        id ??= decodeJwt(assertion).iss ?? '';
      } catch {
        return undefined;
      }
      const key = this.keyClients.get(id);
      if (!key || form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') return undefined;
      return jwtVerify(assertion, key, { issuer: id, subject: id }).then(
        () => ({ client: id, method: 'private_key_jwt' }),
        () => undefined,
      );
    }
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (basic) {
      const [id, secret] = Buffer.from(basic, 'base64').toString().split(':').map((s) => decodeURIComponent(s));
      if (id && this.clients.get(id) === secret) return { client: id, method: 'basic' };
      return undefined;
    }
    const id = form.get('client_id') ?? '';
    const secret = form.get('client_secret');
    if (secret !== null) return this.clients.get(id) === secret ? { client: id, method: 'post' } : undefined;
    if (id && !this.clients.has(id) && !this.keyClients.has(id)) return { client: id, method: 'none' };
    return undefined;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.base);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString();
    const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }).end(JSON.stringify(value));
    };

    if (url.pathname !== '/mcp') {
      this.requests.push({ method: req.method ?? '', path: url.pathname, query: url.searchParams, form: new URLSearchParams(req.method === 'POST' && !body.startsWith('{') ? body : ''), authorization: req.headers.authorization });
    }
    if (url.pathname.startsWith('/.well-known/')) {
      this.counts.metadata++;
      if (!this.discovery) return json(404, { error: 'not_found' });
      if (url.pathname === '/.well-known/oauth-protected-resource/mcp') {
        return json(200, { resource: this.mcpUrl, authorization_servers: [this.base], scopes_supported: ['mcp'] });
      }
      if (url.pathname === '/.well-known/oauth-authorization-server') {
        return json(200, {
          issuer: this.base,
          authorization_endpoint: `${this.base}/authorize`,
          token_endpoint: `${this.base}/token`,
          registration_endpoint: `${this.base}/register`,
          device_authorization_endpoint: `${this.base}/device_authorization`,
          response_types_supported: ['code'],
          grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials', DEVICE_GRANT],
          code_challenge_methods_supported: ['S256'],
          token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none', ...(this.keyClients.size > 0 ? ['private_key_jwt'] : [])],
          ...(this.keyClients.size > 0 ? { token_endpoint_auth_signing_alg_values_supported: ['ES256', 'RS256'] } : {}),
          ...(this.cimd ? { client_id_metadata_document_supported: true } : {}),
        });
      }
      return json(404, { error: 'not_found' });
    }
    if (url.pathname === '/register' && req.method === 'POST') {
      this.counts.register++;
      const meta = JSON.parse(body) as Record<string, unknown>;
      return json(201, { ...meta, client_id: `dyn-${this.counts.register}` });
    }
    if (url.pathname === '/authorize') {
      this.counts.authorize++;
      if (url.searchParams.get('code_challenge_method') !== 'S256') return json(400, { error: 'invalid_request' });
      const code = this.#secret('code');
      this.#codes.set(code, { challenge: url.searchParams.get('code_challenge') ?? '', client: url.searchParams.get('client_id') ?? '' });
      const back = new URL(url.searchParams.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state') ?? '');
      res.writeHead(302, { location: back.href }).end();
      return;
    }
    if (url.pathname === '/device_authorization' && req.method === 'POST') {
      const form = new URLSearchParams(body);
      const who = await this.#authenticate(req, form);
      if (!who) return json(401, { error: 'invalid_client' });
      this.counts.deviceAuthorization++;
      const deviceCode = this.#secret('dc');
      // Shown to the person on purpose (stderr), so not in `secrets`; traces must still not carry it.
      const userCode = `UC${randomBytes(4).toString('hex').toUpperCase()}`;
      this.userCodes.push(userCode);
      this.#devices.set(deviceCode, { userCode, clientId: who.client, approved: false, denied: false, expired: false, polls: 0 });
      return json(200, {
        device_code: deviceCode,
        user_code: userCode,
        verification_uri: `${this.base}/device`,
        verification_uri_complete: `${this.base}/device?user_code=${userCode}`,
        expires_in: 600,
        interval: this.deviceInterval,
      });
    }
    if (url.pathname === '/device/approve' && req.method === 'POST') {
      return json(this.approve(url.searchParams.get('user_code') ?? '') ? 200 : 404, {});
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      const form = new URLSearchParams(body);
      const who = await this.#authenticate(req, form);
      if (!who) return json(401, { error: 'invalid_client' });
      this.authMethods.push(who.method);
      const grant = form.get('grant_type');
      if (grant === 'client_credentials') {
        if (who.method === 'none') return json(401, { error: 'invalid_client' });
        this.counts.clientCredentials++;
        return json(200, this.#issue(who.client, false));
      }
      if (grant === DEVICE_GRANT) {
        this.counts.devicePolls++;
        const device = this.#devices.get(form.get('device_code') ?? '');
        if (!device || device.clientId !== who.client) return json(400, { error: 'invalid_grant' });
        device.polls++;
        if (device.expired) return json(400, { error: 'expired_token' });
        if (device.denied) return json(400, { error: 'access_denied' });
        if (this.slowDowns > 0) {
          this.slowDowns--;
          this.counts.slowDown++;
          return json(400, { error: 'slow_down' });
        }
        if (!device.approved) return json(400, { error: 'authorization_pending' });
        this.#devices.delete(form.get('device_code')!);
        this.counts.deviceIssued++;
        return json(200, this.#issue(who.client, true));
      }
      if (grant === 'authorization_code') {
        const code = this.#codes.get(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        if (!code || createHash('sha256').update(verifier).digest('base64url') !== code.challenge) return json(400, { error: 'invalid_grant' });
        this.#codes.delete(form.get('code')!);
        this.counts.code++;
        return json(200, this.#issue(who.client, true));
      }
      if (grant === 'refresh_token') {
        const rt = form.get('refresh_token') ?? '';
        const client = this.#refresh.get(rt);
        if (client === undefined) return json(400, { error: 'invalid_grant' });
        this.#refresh.delete(rt);
        this.counts.refresh++;
        return json(200, this.#issue(client, true));
      }
      return json(400, { error: 'unsupported_grant_type' });
    }
    if (url.pathname === '/mcp') return this.#mcp(req, res, body, json);
    json(404, { error: 'not_found' });
  }

  #mcp(req: IncomingMessage, res: ServerResponse, body: string, json: (status: number, value: unknown, headers?: Record<string, string>) => void): void {
    if (req.method === 'DELETE') return void res.writeHead(200).end();
    if (req.method !== 'POST') return json(405, { error: 'method not allowed' });
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const at = token === undefined ? undefined : this.#access.get(token);
    if (at === undefined || Date.now() > at.expires) {
      this.counts.mcp401++;
      const challenge = this.discovery ? `Bearer resource_metadata="${this.base}/.well-known/oauth-protected-resource/mcp"` : 'Bearer';
      return json(401, { error: 'invalid_token' }, { 'www-authenticate': challenge });
    }
    this.counts.mcp++;
    const m = JSON.parse(body) as { id?: number; method: string; params?: { protocolVersion?: string } };
    if (m.id === undefined) return void res.writeHead(202).end();
    let result: unknown;
    if (m.method === 'initialize') {
      result = { protocolVersion: m.params?.protocolVersion ?? '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'oauth-stand-in', version: '1' } };
    } else if (m.method === 'tools/list') {
      result = { tools: [{ name: 'whoami', inputSchema: { type: 'object' } }] };
    } else if (m.method === 'tools/call') {
      result = { content: [{ type: 'text', text: `client ${at.client}` }] };
    } else {
      return json(200, { jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'Method not found' } });
    }
    json(200, { jsonrpc: '2.0', id: m.id, result });
  }
}
