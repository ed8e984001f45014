import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parleyCli as parley, tempDir } from './harness';

describe('parley CLI', () => {
  it('schema migrate creates and records the schema, and is idempotent', async () => {
    const dir = tempDir();
    try {
      const path = join(dir.path, 'nested/cli.db');
      const env = { PARLEY__DATABASE__SQLITE__PATH: path };
      const first = await parley(['schema', 'migrate'], env);
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
      expect((await parley(['schema', 'migrate'], env)).code).toBe(0);
      const again = new Database(path, { readonly: true });
      expect(again.prepare('SELECT count(*) AS n FROM schema_migrations').get()).toEqual(applied);
      again.close();
    } finally {
      dir.remove();
    }
  });

  it('config check prints the effective configuration with secrets masked', async () => {
    const res = await parley(['config', 'check'], {
      PARLEY__DATABASE__CASSANDRA__PASSWORD: 's3cret',
      PARLEY__SERVER__PORT: '9123',
      PARLEY__SMTP__HOST: 'mail.example.org',
      PARLEY__SMTP__PASSWORD: 'smtp-s3cret',
    });
    expect(res.code).toBe(0);
    const printed = JSON.parse(res.stdout) as {
      server: { port: number };
      database: { cassandra: { password: string } };
      smtp: { host: string; password: string };
    };
    expect(printed.server.port).toBe(9123);
    expect(printed.database.cassandra.password).toBe('***');
    expect(printed.smtp).toMatchObject({ host: 'mail.example.org', password: '***' });
    expect(res.stdout).not.toContain('smtp-s3cret');
  });

  it('rejects bad configuration and unknown commands with a non-zero exit', async () => {
    const bad = await parley(['config', 'check'], { PARLEY__SERVER__PORTT: '1' });
    expect(bad.code).toBe(78);
    expect(bad.stderr).toContain('server.portt: unknown key');
    const unknown = await parley(['frobnicate']);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain('unknown command');
  });
});
