import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateServerKeys, type ServerKeys } from './keys.js';

const FILE = 'keys.json';

/**
 * The signing and cookie keys in `dataDir/keys.json` (DESIGN.md: mode 0600, the directory
 * 0700), generated on first start. Written to a temporary file and renamed, so a crash
 * never leaves half a key file.
 */
export function loadOrCreateKeys(dataDir: string): ServerKeys {
  const path = join(dataDir, FILE);
  if (existsSync(path)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new Error(`${path} is not a readable key file (${(err as Error).message}); move it away to generate new keys`);
    }
    const keys = parsed as Partial<ServerKeys>;
    if (!Array.isArray(keys.jwks?.keys) || keys.jwks.keys.length === 0 || !Array.isArray(keys.cookieKeys) || keys.cookieKeys.length === 0) {
      throw new Error(`${path} holds no signing or cookie keys; move it away to generate new keys`);
    }
    // Tighten a file someone loosened.
    chmodSync(path, 0o600);
    return keys as ServerKeys;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const keys = generateServerKeys();
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(keys), { mode: 0o600 });
  renameSync(tmp, path);
  return keys;
}
