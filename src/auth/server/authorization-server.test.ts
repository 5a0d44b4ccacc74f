// The authorization server's page templates log through the logger it is given: one `component`
// member per line (serve hands it a logger that already carries `component: 'oauth'`; a pino child
// binding `component` again writes the member twice).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../config/index.js';
import { createLogger } from '../../observability/index.js';
import { renderErrorPage } from '../../web/index.js';
import { createAuthorizationServer } from './authorization-server.js';

const dataDir = mkdtempSync(join(tmpdir(), 'gh-as-templates-'));

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('page template log lines', () => {
  it('carry one component member', async () => {
    const lines: string[] = [];
    const root = createLogger({ level: 'info', destination: { write: (line: string) => lines.push(line) > 0 } as unknown as NodeJS.WritableStream });
    const config = resolveConfig(
      { format: 'native', location: undefined, baseDir: process.cwd(), doc: { dataDir, store: 'memory', publicUrl: 'http://127.0.0.1:8080', auth: { mode: 'oauth' }, servers: { a: { command: 'true' } } } },
      {},
    );
    // As app.ts builds it for serve.
    await createAuthorizationServer({ config, logger: root.child({ component: 'oauth' }), resources: [{ path: '/a/mcp', server: 'a' }] });
    mkdirSync(join(dataDir, 'templates'), { recursive: true });
    writeFileSync(join(dataDir, 'templates', 'error.html'), '<h1>{{#never closed</h1>');
    expect(renderErrorPage({ title: 'T', message: 'M' })).toContain('M');
    const broken = lines.filter((line) => line.includes('page template is broken'));
    expect(broken).toHaveLength(1);
    // Counted in the text: JSON.parse keeps the last of two members and would hide the second.
    expect(broken[0]!.match(/"component":/g)).toEqual(['"component":']);
    expect(JSON.parse(broken[0]!)).toMatchObject({ level: 'error', component: 'oauth', file: join(dataDir, 'templates', 'error.html') });
  });
});
