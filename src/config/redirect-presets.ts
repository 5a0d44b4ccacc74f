// The callback URLs of the MCP clients Gatehouse knows by name (CLIENTS.md): the values of
// `auth.registration.redirectPresets`, and the callbacks of the inbound client an
// environment-only setup describes (compat/environment.ts). Data about clients, kept with the
// config that names them; auth/server/redirect-policy.ts applies it.

export const REDIRECT_PRESET_NAMES = ['claude', 'chatgpt', 'vscode', 'cursor', 'claude-code'] as const;
export type RedirectPreset = (typeof REDIRECT_PRESET_NAMES)[number];

/** `*` matches one run of characters without `/`, `?` or `#`; loopback http ignores the port (RFC 8252 §7.3). */
export const REDIRECT_PRESETS: Readonly<Record<RedirectPreset, readonly string[]>> = {
  // CLIENTS.md: both hosts; the path has been the same for connectors so far.
  claude: ['https://claude.ai/api/mcp/auth_callback', 'https://claude.com/api/mcp/auth_callback'],
  chatgpt: [
    'https://chatgpt.com/connector/oauth/*',
    'https://chatgpt.com/connector_platform_oauth_redirect',
    'https://chat.openai.com/aip/*/oauth/callback',
    'https://chatgpt.com/aip/*/oauth/callback',
  ],
  vscode: ['https://vscode.dev/redirect', 'https://insiders.vscode.dev/redirect', 'http://127.0.0.1/', 'http://localhost/'],
  cursor: ['cursor://anysphere.cursor-retrieval/oauth/user-mcp/callback'],
  'claude-code': [
    'http://localhost/callback',
    'http://127.0.0.1/callback',
    'http://localhost/oauth/callback',
    'http://127.0.0.1/oauth/callback',
  ],
};
