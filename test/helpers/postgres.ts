// A throwaway PostgreSQL cluster for tests: initdb into a temp dir, listen on 127.0.0.1 at a
// free port with fsync off, one database, removed afterwards. Missing binaries are a test
// failure with a message, never a silent skip (.ci/run installs them).
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface TestPostgres {
  /** `postgres://postgres@127.0.0.1:PORT/DB` */
  readonly url: string;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]>;
  stop(): Promise<void>;
}

const BINARIES = ['initdb', 'pg_ctl', 'postgres'] as const;

/** Where initdb, pg_ctl and postgres are looked for: $PG_BIN, PATH, then the usual places. */
export function postgresBinCandidates(): string[] {
  const candidates: string[] = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir) candidates.push(dir);
  candidates.push('/usr/local/bin', '/usr/local/pgsql/bin');
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    for (const v of readdirSync(debian).sort((a, b) => Number(b) - Number(a))) candidates.push(join(debian, v, 'bin'));
  }
  return candidates;
}

/** The first directory that has all three binaries. */
export function findPostgresBin(candidates = postgresBinCandidates()): string | undefined {
  return candidates.find((dir) => BINARIES.every((b) => existsSync(join(dir, b))));
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface StartPostgresOptions {
  readonly database?: string;
  /** Directories to look for the binaries in (default: postgresBinCandidates()). */
  readonly binDirs?: readonly string[];
}

export async function startPostgres(options: StartPostgresOptions = {}): Promise<TestPostgres> {
  const database = options.database ?? 'gatehouse_test';
  const bin = findPostgresBin(options.binDirs ? [...options.binDirs] : undefined);
  if (!bin) {
    throw new Error(
      'PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH, in /usr/local/bin or /usr/lib/postgresql/*/bin: ' +
        'install postgresql (Debian: apt-get install -y postgresql; .ci/run does this) or set PG_BIN to their directory',
    );
  }
  // The server refuses to run as root: run it as the `postgres` user the package creates.
  const asRoot = process.getuid?.() === 0;
  let owner: { uid: number; gid: number } | undefined;
  if (asRoot) {
    try {
      owner = { uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()) };
    } catch {
      throw new Error('running as root, but there is no `postgres` user to run the PostgreSQL server as: install postgresql (apt-get install -y postgresql)');
    }
  }
  const run = (cmd: string, args: string[]) => {
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]] : [join(bin, cmd), args];
    try {
      return execFileSync(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 }).toString();
    } catch (err) {
      const e = err as { stderr?: Buffer; stdout?: Buffer; message: string };
      throw new Error(`${cmd} failed: ${e.stderr?.toString() || e.stdout?.toString() || e.message}`);
    }
  };

  const dir = mkdtempSync(join(tmpdir(), 'gh-pg-'));
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const data = join(dir, 'data');
  const port = await freePort();
  const superuser = asRoot ? 'postgres' : userInfo().username;
  let started = false;
  const stop = async () => {
    if (started) {
      started = false;
      try {
        run('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']);
      } catch {
        // Already gone; the directory is removed below all the same.
      }
    }
    await Promise.resolve();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    run('initdb', ['-D', data, '-U', superuser, '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync']);
    const opts = [`-p ${port}`, "-c listen_addresses=127.0.0.1", `-c unix_socket_directories=${dir}`, '-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off'];
    run('pg_ctl', ['start', '-D', data, '-w', '-t', '30', '-l', join(dir, 'server.log'), '-o', opts.join(' ')]);
    started = true;
    const admin = new pg.Client({ host: '127.0.0.1', port, user: superuser, database: 'postgres' });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
  } catch (err) {
    await stop();
    throw err;
  }
  const url = `postgres://${superuser}@127.0.0.1:${port}/${database}`;
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  return {
    url,
    async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []) {
      return (await pool.query<R>(sql, params)).rows;
    },
    async stop() {
      await pool.end().catch(() => undefined);
      await stop();
    },
  };
}
