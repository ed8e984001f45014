import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SqliteDb } from './connection';

const MIGRATION_FILE = /^(\d+)_([\w-]+)\.sql$/;

/**
 * `<repo>/migrations/sqlite`, found by walking up from this file so it resolves the same from the
 * sources (libs/storage/src/sqlite) and from the build (dist/libs/storage/src/sqlite).
 */
export function defaultMigrationsDir(from = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'migrations', 'sqlite');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`no migrations/sqlite directory above ${from}`);
  }
}

/** Applies numbered `.sql` files in order, each in its own transaction with its row in schema_migrations. */
export function migrate(db: SqliteDb, dir: string): string[] {
  db.raw.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
  )`);
  const applied = new Set(
    db.raw
      .prepare<[], { version: bigint }>('SELECT version FROM schema_migrations')
      .all()
      .map((row) => Number(row.version)),
  );
  const files = readdirSync(dir)
    .map((file) => ({ file, match: MIGRATION_FILE.exec(file) }))
    .filter((entry): entry is { file: string; match: RegExpExecArray } => entry.match !== null)
    .map(({ file, match }) => ({ file, version: Number(match[1]), name: match[2] }))
    .sort((a, b) => a.version - b.version);
  for (let i = 1; i < files.length; i++) {
    if (files[i].version === files[i - 1].version)
      throw new Error(`two migrations numbered ${files[i].version} in ${dir}`);
  }
  const done: string[] = [];
  for (const { file, version, name } of files) {
    if (applied.has(version)) continue;
    const sql = readFileSync(join(dir, file), 'utf8');
    db.transaction(() => {
      db.raw.exec(sql);
      db.raw
        .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
        .run(version, name, Date.now());
    });
    done.push(file.replace(/\.sql$/, ''));
  }
  return done;
}
