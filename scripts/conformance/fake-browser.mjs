#!/usr/bin/env node
// A "browser" for the conformance suite's mock authorization server: its /authorize answers
// at once with a 302 to our loopback callback, so following redirects completes the login.
//
//   gatehouse connect URL --browser-command "node scripts/conformance/fake-browser.mjs"
//
// Only http(s) URLs are followed; at most 10 hops.
const [start] = process.argv.slice(2).slice(-1);
let url = start;
for (let hop = 0; hop < 10 && url; hop++) {
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    console.error(`fake-browser: refusing ${parsed.protocol} URL`);
    process.exit(1);
  }
  const res = await fetch(parsed, { redirect: 'manual' });
  await res.arrayBuffer().catch(() => undefined);
  const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null;
  if (!location) {
    if (res.status >= 400) console.error(`fake-browser: ${parsed.origin}${parsed.pathname} answered ${res.status}`);
    break;
  }
  url = new URL(location, parsed).href;
}
