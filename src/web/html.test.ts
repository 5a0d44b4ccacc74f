import { describe, expect, it } from 'vitest';
import { html, raw } from './html.js';
import { renderConsentPage, renderLoginPage } from './pages.js';

describe('html', () => {
  it('escapes every interpolated string and keeps SafeHtml', () => {
    const evil = `"><script>alert('x')</script>&\``;
    expect(html`<p title="${evil}">${evil}</p>${raw('<br>')}`.__html).toBe(
      '<p title="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&#96;">&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&#96;</p><br>',
    );
  });

  it('renders pages without letting client-chosen names into the markup', () => {
    const name = '<img src=x onerror=alert(1)>';
    const login = renderLoginPage({ csrfToken: 't"x', clientName: name, username: name, error: 'Wrong username or password.' });
    expect(login).not.toContain('<img');
    expect(login).toContain('value="t&quot;x"');
    const consent = renderConsentPage({ csrfToken: 't', clientName: name, clientId: 'id', redirectHost: name, account: 'a', scopes: [name], resources: [name] });
    expect(consent).not.toContain('<img');
    expect(consent).toContain('name="decision" value="allow"');
  });
});
