// `gatehouse users hash`: the hash of a password, for `auth.users.NAME.passwordHash` in a config
// file (a user `serve` reads at start, kept in no store). And how `users add`, `users passwd` and
// `users hash` read a password: the first line of stdin (--password-stdin), or a no-echo prompt
// on the terminal, asked twice.
import { hashPassword } from '../crypto/index.js';
import { CliExit, ExitCode } from './exit.js';

export interface PasswordFlags {
  passwordStdin?: boolean | undefined;
}

const MAX_PASSWORD = 1024;

/**
 * Prints the hash the password module makes (scrypt, as `users add` stores it) of a password read
 * as `users add` reads one; nothing is stored, and no config or store is read.
 */
export async function usersHash(flags: PasswordFlags): Promise<void> {
  const password = await readPassword(undefined, flags, true);
  console.log(hashPassword(password));
  console.error('the hash of that password: in a config file, give it as auth.users.NAME.passwordHash (serve reads it at start)');
}

/**
 * One line from stdin (--password-stdin), or a no-echo prompt on the terminal ("Password for
 * NAME: ", or "Password: " with no name), asked twice when `confirm`.
 */
export async function readPassword(name: string | undefined, flags: PasswordFlags, confirm: boolean): Promise<string> {
  let password: string;
  if (flags.passwordStdin) {
    password = firstLine(await readAll(process.stdin));
  } else {
    if (!process.stdin.isTTY) throw new CliExit(ExitCode.Usage, 'no terminal to ask for the password on: pipe it in with --password-stdin');
    password = await promptHidden(`Password${name === undefined ? '' : ` for ${name}`}: `);
    if (confirm && (await promptHidden('Repeat it: ')) !== password) throw new CliExit(ExitCode.Failure, 'the two passwords differ; nothing was changed');
  }
  if (password.length === 0) throw new CliExit(ExitCode.Usage, 'the password is empty; nothing was changed');
  if (password.length > MAX_PASSWORD) throw new CliExit(ExitCode.Usage, `the password is longer than ${MAX_PASSWORD} characters`);
  return password;
}

function firstLine(text: string): string {
  const end = text.search(/\r?\n/);
  return end === -1 ? text : text.slice(0, end);
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    chunks.push(buf);
    size += buf.length;
    // One line is all we want; stop reading early rather than buffer a huge input.
    if (buf.includes(10) || size > MAX_PASSWORD * 4) break;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads a line from the terminal in raw mode, so nothing typed is echoed. */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (data: Buffer) => {
      for (const ch of data.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish();
        if (ch === '\u0003') return finish(new CliExit(ExitCode.Failure, 'cancelled; nothing was changed'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    // Echo off before the prompt shows: whoever types as soon as they see it is not echoed.
    stdin.setRawMode(true);
    process.stderr.write(prompt);
    stdin.resume();
    stdin.on('data', onData);
  });
}
