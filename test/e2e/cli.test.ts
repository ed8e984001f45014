import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { tempDir } from './harness';

const ROOT = join(__dirname, '../..');

function parley(args: string[], env: Record<string, string> = {}) {
  const res = spawnSync(join(ROOT, 'scripts/parley'), args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

describe('parley CLI', () => {
  it('schema migrate creates and records the schema, and is idempotent', () => {
    const dir = tempDir();
    try {
      const path = join(dir.path, 'nested/cli.db');
      const env = { PARLEY__DATABASE__SQLITE__PATH: path };
      const first = parley(['schema', 'migrate'], env);
      expect(first).toMatchObject({ code: 0 });
      expect(first.stdout).toContain('schema up to date (sqlite)');
      expect(existsSync(path)).toBe(true);
      const db = new Database(path, { readonly: true });
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
        name: string;
      }[];
      expect(tables.map((t) => t.name)).toEqual(
        expect.arrayContaining(['users', 'messages', 'guilds', 'jobs']),
      );
      const applied = db.prepare('SELECT count(*) AS n FROM schema_migrations').get() as { n: number };
      db.close();
      expect(parley(['schema', 'migrate'], env).code).toBe(0);
      const again = new Database(path, { readonly: true });
      expect(again.prepare('SELECT count(*) AS n FROM schema_migrations').get()).toEqual(applied);
      again.close();
    } finally {
      dir.remove();
    }
  });

  it('config check prints the effective configuration with secrets masked', () => {
    const res = parley(['config', 'check'], {
      PARLEY__DATABASE__CASSANDRA__PASSWORD: 's3cret',
      PARLEY__SERVER__PORT: '9123',
    });
    expect(res.code).toBe(0);
    const printed = JSON.parse(res.stdout) as {
      server: { port: number };
      database: { cassandra: { password: string } };
    };
    expect(printed.server.port).toBe(9123);
    expect(printed.database.cassandra.password).toBe('***');
  });

  it('rejects bad configuration and unknown commands with a non-zero exit', () => {
    const bad = parley(['config', 'check'], { PARLEY__SERVER__PORTT: '1' });
    expect(bad.code).toBe(78);
    expect(bad.stderr).toContain('server.portt: unknown key');
    const unknown = parley(['frobnicate']);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain('unknown command');
  });
});
