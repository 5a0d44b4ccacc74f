// Preload that gives Node 20 an `fs.globSync` (added to Node in 22.0).
//
// Usage: node --import ./scripts/conformance/globsync-hook.mjs <entry>
//
// The conformance CLI does `import { globSync } from "fs"`. Named exports of a
// builtin ESM namespace are fixed when Node starts, so patching `fs.globSync`
// at runtime is not enough: the import would still fail to link. Instead we
// register a resolve hook (globsync-loader.mjs) that redirects every `fs` /
// `node:fs` import to globsync-fs.mjs, a wrapper that re-exports `node:fs`
// plus our polyfilled `globSync`. On Node versions that already ship
// `fs.globSync` this preload does nothing.
import fs from 'node:fs';
import { register } from 'node:module';

if (typeof fs.globSync !== 'function') {
  register('./globsync-loader.mjs', import.meta.url);
}
