import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteDb } from './connection';
import { defaultMigrationsDir, migrate } from './migrator';

describe('migrate', () => {
  let dir: string;
  let db: SqliteDb;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'parley-migrations-'));
    const raw = new Database(':memory:');
    raw.defaultSafeIntegers(true);
    db = new SqliteDb(raw);
  });

  afterEach(() => {
    db.raw.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies numbered files in numeric order once, recording each', () => {
    writeFileSync(join(dir, '0010_second.sql'), 'ALTER TABLE a ADD COLUMN y INTEGER;');
    writeFileSync(join(dir, '0002_first.sql'), 'CREATE TABLE a (x INTEGER);');
    writeFileSync(join(dir, 'README.md'), 'not a migration');
    expect(migrate(db, dir)).toEqual(['0002_first', '0010_second']);
    expect(migrate(db, dir)).toEqual([]);
    const recorded = db.all<{ version: bigint; name: string }>(
      'SELECT version, name FROM schema_migrations ORDER BY version',
    );
    expect(recorded.map((r) => [Number(r.version), r.name])).toEqual([
      [2, 'first'],
      [10, 'second'],
    ]);
  });

  it('rolls back a failing migration as a whole and stops there', () => {
    writeFileSync(join(dir, '0001_ok.sql'), 'CREATE TABLE a (x INTEGER);');
    writeFileSync(
      join(dir, '0002_broken.sql'),
      'CREATE TABLE b (x INTEGER); INSERT INTO nowhere VALUES (1);',
    );
    expect(() => migrate(db, dir)).toThrow(/nowhere/);
    expect(db.all('SELECT name FROM sqlite_master WHERE name = ?', 'b')).toEqual([]);
    expect(
      db.all<{ version: bigint }>('SELECT version FROM schema_migrations').map((r) => r.version),
    ).toEqual([1n]);
  });

  it('finds the repository migrations from the sources and from the build layout', () => {
    expect(defaultMigrationsDir()).toMatch(/migrations[\\/]sqlite$/);
    const built = join(__dirname, '..', '..', '..', '..', 'dist', 'libs', 'storage', 'src', 'sqlite');
    expect(defaultMigrationsDir(built)).toBe(defaultMigrationsDir());
  });
});
