import { describe, expect, it } from 'vitest';
import { serverNameProblems } from '../server-name.js';
import { fromClaudeDesktop } from './claude-desktop.js';
import { renamedServerWarning, servableServerNames } from './server-names.js';

const renamed = (names: string[]) => Object.fromEntries(servableServerNames(names));

describe('servableServerNames', () => {
  it('keeps a name ServerNameSchema takes, and renames the others to a readable one it takes', () => {
    expect(renamed(['memory.v2', 'My Server', 'api', '_private', 'GitHub', 'my_tools'])).toEqual({
      'memory.v2': 'memory-v2',
      'My Server': 'my-server',
      api: 'api-server',
      _private: 'private',
      GitHub: 'GitHub',
      my_tools: 'my_tools',
    });
  });

  it('gives every reserved route a -server name, in any case', () => {
    expect(renamed(['MCP', 'healthz', 'openapi.json', '.well-known'])).toEqual({
      MCP: 'mcp-server',
      healthz: 'healthz-server',
      'openapi.json': 'openapi-json',
      '.well-known': 'well-known',
    });
  });

  it('adds -2, -3 where a name is taken, kept names winning wherever they stand in the file', () => {
    expect(renamed(['My Server', 'my.server', 'MY SERVER!', 'my-server'])).toEqual({
      'My Server': 'my-server-2',
      'my.server': 'my-server-3',
      'MY SERVER!': 'my-server-4',
      'my-server': 'my-server',
    });
    expect(renamed(['api', 'api-server'])).toEqual({ api: 'api-server-2', 'api-server': 'api-server' });
  });

  it('keeps names that differ only in case (routes are case-sensitive), and makes no new name that differs from another only in case', () => {
    expect(renamed(['Memory', 'memory'])).toEqual({ Memory: 'Memory', memory: 'memory' });
    expect(renamed(['My-Server', 'My Server'])).toEqual({ 'My-Server': 'My-Server', 'My Server': 'my-server-2' });
  });

  it('makes a name of anything: accents, other scripts, __, leading and trailing marks, __proto__', () => {
    expect(renamed(['Café Bücher', '数据', '', 'a__b', '--x--', '__proto__', 'a_.b'])).toEqual({
      'Café Bücher': 'cafe-bucher',
      数据: 'server',
      '': 'server-2',
      a__b: 'a-b',
      '--x--': 'x',
      ['__proto__']: 'proto',
      'a_.b': 'a-b-2',
    });
  });

  it('always gives names ServerNameSchema takes, none twice', () => {
    const odd = ['a.b', 'A.B', 'a b', 'a/b', 'a\\b', 'a__', '_', '-', '.', ' ', 'mcp', 'Mcp', 'sse ', '😀', 'x'.repeat(3) + '__' + 'y', 'über', 'a\nb', '%20'];
    const names = [...servableServerNames(odd).values()];
    for (const name of names) expect(serverNameProblems(name)).toEqual([]);
    expect(new Set(names.map((n) => n.toLowerCase())).size).toBe(odd.length);
  });
});

describe('fromClaudeDesktop', () => {
  it('serves a refused name under its new one, with a warning naming old and new names, the route and the reason', () => {
    const { doc, warnings } = fromClaudeDesktop({ mcpServers: { 'My Server': { command: 'node', args: ['s.js'] }, api: { url: 'https://a.example/mcp', type: 'sse' }, ok: { command: 'x' } } });
    expect(doc.servers).toEqual({
      'my-server': { command: 'node', args: ['s.js'] },
      'api-server': { url: 'https://a.example/mcp', transport: 'sse' },
      ok: { command: 'x' },
    });
    expect(warnings).toEqual([
      'mcpServers.My Server: served as "my-server" at /my-server/mcp (its tools are my-server__TOOL on /mcp), since "My Server" cannot be a server name: ' +
        'a server name may hold letters, digits, - and single _ (it becomes a URL path and a tool prefix)',
      'mcpServers.api: served as "api-server" at /api-server/mcp (its tools are api-server__TOOL on /mcp), since "api" is a route of the gateway itself; pick another name',
    ]);
    expect(renamedServerWarning('clients.a.b', 'a.b', 'a-b')).toMatch(/^clients\.a\.b: served as "a-b" at \/a-b\/mcp /);
  });

  it('says nothing when every name can be served', () => {
    expect(fromClaudeDesktop({ mcpServers: { files: { command: 'x' }, Files: { command: 'y' } } }).warnings).toEqual([]);
  });
});
