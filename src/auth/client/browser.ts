import { spawn } from 'node:child_process';

/** How the authorization URL reaches a person. */
export interface BrowserOptions {
  /** `--browser-command`: a program and its arguments; the URL is appended as the last argument. */
  readonly command?: string | undefined;
  /** The `BROWSER` environment variable, used when no command is given. */
  readonly browserEnv?: string | undefined;
  readonly platform?: NodeJS.Platform;
  /** Where the URL is always printed (stderr), whether or not a browser opens. */
  readonly notify: (line: string) => void;
}

/**
 * CVE-2025-6514: an authorization endpoint is attacker-controlled input. Only an http(s)
 * URL is ever handed to an opener, and never through a shell.
 */
export function assertBrowsableUrl(url: string | URL): URL {
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch {
    throw new Error('refusing to open an authorization URL that is not a valid URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new Error(`refusing to open an authorization URL with scheme ${parsed.protocol} (only http and https)`);
  }
  return parsed;
}

/** Splits a command line into words: whitespace separates, '…' and "…" group. No expansion of any kind. */
export function splitCommand(command: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote: '"' | "'" | undefined;
  let inWord = false;
  for (const ch of command) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return words;
}

function systemOpener(platform: NodeJS.Platform): string[] {
  if (platform === 'darwin') return ['open'];
  if (platform === 'win32') return ['rundll32', 'url.dll,FileProtocolHandler'];
  return ['xdg-open'];
}

/**
 * Prints the URL to stderr, then starts the browser: `--browser-command`, else `BROWSER`,
 * else the system opener. A browser that cannot start is not an error: the printed URL is
 * the fallback.
 */
export function openBrowser(url: string | URL, options: BrowserOptions): Promise<void> {
  let target: URL;
  try {
    target = assertBrowsableUrl(url);
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
  options.notify(`Open this URL to log in:\n  ${target.href}`);
  const configured = options.command ?? options.browserEnv;
  const argv = configured !== undefined && configured.trim() !== '' ? splitCommand(configured) : systemOpener(options.platform ?? process.platform);
  const [program, ...args] = argv;
  if (!program) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const child = spawn(program, [...args, target.href], { stdio: 'ignore', detached: false, shell: false, windowsHide: true });
    child.once('error', (error) => {
      options.notify(`(could not start ${program}: ${error.message}; open the URL above yourself)`);
      resolve();
    });
    child.once('spawn', () => {
      child.unref();
      resolve();
    });
  });
}
