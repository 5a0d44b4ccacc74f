// How the runners start the official conformance suite's CLI under Node 20: its `bin` entry,
// resolved from here, with the globsync-hook.mjs preload (the suite imports fs.globSync,
// which Node 22 added).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** Path of the package's CLI entry (its `bin`). */
function cliEntry(pkg) {
  const manifestPath = require.resolve(`${pkg}/package.json`);
  const manifest = require(manifestPath);
  const bin = typeof manifest.bin === 'string' ? manifest.bin : Object.values(manifest.bin ?? {})[0];
  if (!bin) throw new Error(`${pkg} has no bin entry`);
  return path.join(path.dirname(manifestPath), bin);
}

/** Node arguments that run `pkg`'s conformance CLI with `cliArgs`. */
export function suiteNodeArgs(pkg, cliArgs) {
  return ['--import', pathToFileURL(path.join(here, 'globsync-hook.mjs')).href, cliEntry(pkg), ...cliArgs];
}
