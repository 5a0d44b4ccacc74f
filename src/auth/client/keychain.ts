import { randomBytes } from 'node:crypto';

import type * as Keyring from '@napi-rs/keyring';

/** Where the token files' AES-256-GCM key comes from when it is not the `key` file. */
export interface TokenKeySource {
  readonly description: string;
  /** The 32-byte key, created and kept there on first use. */
  key(): Promise<Buffer>;
}

const SERVICE = 'gatehouse';
const ACCOUNT = 'token-file-key';

/**
 * The OS keychain (macOS Keychain, Windows Credential Manager, the Secret Service on Linux)
 * through the optional `@napi-rs/keyring`. It holds the token files' key,
 * not the tokens: a record with a client registration and discovery metadata outgrows some
 * keychains' size limits (2.5 KB on Windows), a key never does, and the file store keeps its
 * cross-process login lock. Resolves `{ unavailable }` with the reason when the module or
 * the keychain cannot be used (a headless Linux without a Secret Service, most often).
 */
export async function openKeychainKeySource(
  options: { readonly service?: string; readonly account?: string } = {},
): Promise<{ readonly source: TokenKeySource } | { readonly unavailable: string }> {
  let keyring: typeof Keyring;
  try {
    keyring = await import('@napi-rs/keyring');
  } catch (error) {
    return { unavailable: `@napi-rs/keyring is not installed (${error instanceof Error ? error.message : String(error)})` };
  }
  let key: Buffer;
  try {
    // Linux: the Secret Service only. The library's fallback, the kernel keyutils keyring, lives
    // in kernel memory and is gone after a restart, and with it the key that opens the token
    // files: the key file is better than that.
    const entry = new keyring.AsyncEntry(options.service ?? SERVICE, options.account ?? ACCOUNT, { linux: { store: 'secret-service' } });
    const stored = await entry.getPassword();
    if (stored !== null && stored !== undefined) {
      key = Buffer.from(stored, 'base64');
      if (key.length !== 32) return { unavailable: 'the key stored in the OS keychain is damaged (expected 32 bytes)' };
    } else {
      key = randomBytes(32);
      await entry.setPassword(key.toString('base64'));
      // Read back: some backends accept a write they cannot keep (a locked collection).
      if ((await entry.getPassword()) !== key.toString('base64')) return { unavailable: 'the OS keychain did not keep what was written to it' };
    }
  } catch (error) {
    return { unavailable: `the OS keychain cannot be used: ${error instanceof Error ? error.message : String(error)}` };
  }
  return { source: { description: 'OS keychain', key: () => Promise.resolve(key) } };
}
