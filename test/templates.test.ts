// Page templates: the renderer (escaping it cannot be talked out of), `gatehouse templates
// eject`, and a template set over a directory (edits picked up per render, broken files
// falling back to the built-in templates).
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUILTIN_TEMPLATES, TEMPLATE_NAMES } from '../src/web/builtin-templates.js';
import { ejectTemplates } from '../src/web/eject-templates.js';
import { PageTemplates, type TemplateLogger } from '../src/web/page-templates.js';
import { compileTemplate, TemplateError } from '../src/web/template-engine.js';
import { runCli, tempRoot } from './helpers/cli.js';

const XSS = `<script>alert("x")</script>'\``;
const ESCAPED = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;&#96;';
const temp = tempRoot('gh-templates-');
afterAll(() => temp.remove());

function recordingLogger(): TemplateLogger & { errors: string[]; infos: string[] } {
  const errors: string[] = [];
  const infos: string[] = [];
  return {
    errors,
    infos,
    error: (obj, msg) => errors.push(`${msg} ${JSON.stringify(obj)}`),
    info: (obj, msg) => infos.push(`${msg} ${JSON.stringify(obj)}`),
  };
}

describe('template engine', () => {
  it('escapes every value, in text and in attributes, at any depth', () => {
    const t = compileTemplate('<p title="{{a}}">{{a}}</p>{{#list}}<i>{{.}}</i>{{/list}}{{#obj}}<b>{{name}}</b>{{/obj}}{{obj.name}}');
    expect(t.render({ a: XSS, list: [XSS], obj: { name: XSS } })).toBe(
      `<p title="${ESCAPED}">${ESCAPED}</p><i>${ESCAPED}</i><b>${ESCAPED}</b>${ESCAPED}`,
    );
  });

  it('has no way to print a value unescaped: triple mustache, & and partials are refused', () => {
    for (const source of ['{{{a}}}', '{{&a}}', '{{> partial}}', '{{=<% %>=}}', '{{a b}}', '{{a']) {
      expect(() => compileTemplate(source), source).toThrow(TemplateError);
    }
  });

  it('renders sections: lists, truthy values, inverted sections; missing values print nothing', () => {
    const t = compileTemplate('{{#xs}}[{{.}}]{{/xs}}{{^xs}}none{{/xs}}|{{#flag}}on{{/flag}}{{^flag}}off{{/flag}}|{{missing}}{{deep.missing.value}}');
    expect(t.render({ xs: ['a', 'b'], flag: true })).toBe('[a][b]|on|');
    expect(t.render({ xs: [], flag: false })).toBe('none|off|');
  });

  it('names the line of a syntax error', () => {
    expect(() => compileTemplate('a\nb\n{{#x}}\n', 'login.html')).toThrow(/login\.html, line 3: \{\{#x\}\} is never closed/);
    expect(() => compileTemplate('{{#x}}\n{{/y}}', 'login.html')).toThrow(/line 2: \{\{\/y\}\} closes \{\{#x\}\} of line 1/);
  });

  it('compiles every built-in template', () => {
    for (const name of TEMPLATE_NAMES) expect(() => compileTemplate(BUILTIN_TEMPLATES[name], name)).not.toThrow();
  });
});

describe('a template set over a directory', () => {
  it('uses the built-in templates until one is ejected, then the file, re-read when it changes', () => {
    const dir = join(temp.freshDir(), 'templates');
    const logger = recordingLogger();
    const set = new PageTemplates(dir, logger);
    const builtin = set.renderPage('error', 'Oops', { title: 'Oops', message: 'm' });
    expect(builtin).toContain('<h1>Oops</h1>');

    ejectTemplates(dir);
    expect(set.renderPage('error', 'Oops', { title: 'Oops', message: 'm' })).toBe(builtin);

    writeFileSync(join(dir, 'error.html'), '<h2 class="custom">{{title}}</h2>');
    expect(set.renderPage('error', 'Oops', { title: XSS, message: 'm' })).toContain(`<h2 class="custom">${ESCAPED}</h2>`);
    writeFileSync(join(dir, 'error.html'), '<h3 class="edited again">{{title}}: {{message}}</h3>');
    expect(set.renderPage('error', 'Oops', { title: 'Oops', message: 'm' })).toContain('<h3 class="edited again">Oops: m</h3>');

    rmSync(join(dir, 'error.html'));
    expect(set.renderPage('error', 'Oops', { title: 'Oops', message: 'm' })).toBe(builtin);
    expect(logger.errors).toEqual([]);
  });

  it('falls back to the built-in template for a broken file, logs it once, and recovers when it is fixed', () => {
    const dir = join(temp.freshDir(), 'templates');
    ejectTemplates(dir);
    const logger = recordingLogger();
    const set = new PageTemplates(dir, logger);
    const builtin = new PageTemplates(undefined).renderPage('login', 'Sign in', { csrf: 'c', localLogin: true });

    writeFileSync(join(dir, 'login.html'), '<form>{{#localLogin}}<input name="csrf" value="{{csrf}}">');
    expect(set.renderPage('login', 'Sign in', { csrf: 'c', localLogin: true })).toBe(builtin);
    expect(set.renderPage('login', 'Sign in', { csrf: 'c', localLogin: true })).toBe(builtin);
    expect(logger.errors).toHaveLength(1);
    expect(logger.errors[0]).toMatch(/login\.html, line 1: \{\{#localLogin\}\} is never closed/);

    // A page without its CSRF field could never be submitted: refused too.
    writeFileSync(join(dir, 'login.html'), '<form method="post"><button>Sign in</button></form>');
    expect(set.renderPage('login', 'Sign in', { csrf: 'c', localLogin: true })).toBe(builtin);
    expect(logger.errors[1]).toMatch(/never uses \{\{csrf\}\}/);

    writeFileSync(join(dir, 'login.html'), '<form method="post" data-fixed><input name="csrf" value="{{csrf}}"></form>');
    expect(set.renderPage('login', 'Sign in', { csrf: 'c', localLogin: true })).toContain('data-fixed');

    // A layout that would drop every page is refused the same way.
    writeFileSync(join(dir, 'layout.html'), '<html><body>nothing</body></html>');
    expect(set.renderPage('error', 'T', { title: 'T', message: 'm' })).toContain('<meta name="viewport"');
    expect(logger.errors[2]).toMatch(/layout\.html never uses \{\{content\}\}/);
  });
});

describe('gatehouse templates eject', () => {
  it('writes the built-in templates to <dataDir>/templates by default, and to DIR when given', async () => {
    const cwd = temp.freshDir();
    const run = await runCli(['templates', 'eject'], { cwd });
    expect(run.status, run.stderr).toBe(0);
    for (const name of TEMPLATE_NAMES) {
      const file = join(cwd, '.gatehouse', 'templates', `${name}.html`);
      expect(run.stdout).toContain(file);
      expect(readFileSync(file, 'utf8')).toBe(BUILTIN_TEMPLATES[name]);
    }
    expect(run.stderr).toContain('no restart needed');

    const elsewhere = await runCli(['templates', 'eject', 'my-templates', '--data-dir', 'state'], { cwd });
    expect(elsewhere.status, elsewhere.stderr).toBe(0);
    expect(existsSync(join(cwd, 'my-templates', 'consent.html'))).toBe(true);
    expect(elsewhere.stderr).toContain(join(cwd, 'state', 'templates'));
  });

  it('keeps edited templates unless --force', async () => {
    const cwd = temp.freshDir();
    const dir = join(cwd, 'out');
    expect((await runCli(['templates', 'eject', dir], { cwd })).status).toBe(0);
    writeFileSync(join(dir, 'login.html'), 'my edits {{csrf}}');
    const again = await runCli(['templates', 'eject', dir], { cwd });
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/login\.html.*already exist.*--force/);
    expect(readFileSync(join(dir, 'login.html'), 'utf8')).toBe('my edits {{csrf}}');
    const forced = await runCli(['templates', 'eject', dir, '--force'], { cwd });
    expect(forced.status).toBe(0);
    expect(readFileSync(join(dir, 'login.html'), 'utf8')).toBe(BUILTIN_TEMPLATES.login);
  });
});
