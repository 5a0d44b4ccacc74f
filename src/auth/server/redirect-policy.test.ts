import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createRedirectPolicy, isLoopbackHttp, isPrivateUseScheme } from './redirect-policy.js';

const all = createRedirectPolicy(['claude', 'chatgpt', 'vscode', 'cursor', 'claude-code'], ['https://app.example.com/oauth/*/done']);

describe('redirect policy', () => {
  it('allows the known clients', () => {
    for (const uri of [
      'https://claude.ai/api/mcp/auth_callback',
      'https://claude.com/api/mcp/auth_callback',
      'https://chatgpt.com/connector/oauth/abc_123',
      'https://chatgpt.com/connector_platform_oauth_redirect',
      'https://chat.openai.com/aip/g-123/oauth/callback',
      'https://vscode.dev/redirect',
      'http://127.0.0.1:33418/',
      'http://127.0.0.1/',
      'http://127.0.0.1:50123/',
      'cursor://anysphere.cursor-retrieval/oauth/user-mcp/callback',
      'http://localhost:3118/callback',
      'http://127.0.0.1:40000/oauth/callback',
      'https://app.example.com/oauth/tenant-1/done',
    ]) {
      expect(all.allows(uri), uri).toBe(true);
    }
  });

  it('refuses lookalikes, other paths, fragments, credentials and dangerous schemes', () => {
    for (const uri of [
      'https://claude.ai.evil.com/api/mcp/auth_callback',
      'https://evil.com/https://claude.ai/api/mcp/auth_callback',
      'https://claude.ai/api/mcp/auth_callback/../../x',
      'https://claude.ai/api/mcp/auth_callback#x',
      'https://user@claude.ai/api/mcp/auth_callback',
      'https://chatgpt.com/connector/oauth/a/b',
      'https://chatgpt.com/connector/oauth/',
      'https://app.example.com/oauth/a/b/done',
      'http://claude.ai/api/mcp/auth_callback',
      'http://127.0.0.1:3118/elsewhere',
      'http://10.0.0.1:3118/callback',
      'javascript:alert(1)',
      'data:text/html,hi',
      'cursor://anysphere.cursor-retrieval/other',
      'not a url',
      'https://claude.ai\\@evil.com/api/mcp/auth_callback',
    ]) {
      expect(all.allows(uri), uri).toBe(false);
    }
  });

  it('refuses every payload of the open-redirect attack list, alone and appended to an allowed URI', () => {
    const payloads = readFileSync(new URL('./testdata/openredirects.txt', import.meta.url), 'utf8').split('\n').filter(Boolean);
    expect(payloads.length).toBeGreaterThan(500);
    for (const p of payloads) {
      expect(all.allows(p), p).toBe(false);
      expect(all.allows(`https://claude.ai/api/mcp/auth_callback${p}`), p).toBe(false);
    }
  });

  it('allows nothing self-registered when no preset and no extra URI is configured', () => {
    expect(createRedirectPolicy([], []).allows('https://claude.ai/api/mcp/auth_callback')).toBe(false);
  });

  it('classifies native redirects (RFC 8252)', () => {
    expect(isLoopbackHttp('http://127.0.0.1:1234/cb')).toBe(true);
    expect(isLoopbackHttp('http://[::1]:1234/cb')).toBe(true);
    expect(isLoopbackHttp('https://127.0.0.1/cb')).toBe(false);
    expect(isPrivateUseScheme('cursor://x/y')).toBe(true);
    expect(isPrivateUseScheme('javascript:alert(1)')).toBe(false);
    expect(isPrivateUseScheme('https://x')).toBe(false);
  });
});
