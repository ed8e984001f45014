-- Operator state (libs/migration, the maintenance switch). Both tables are tiny and off every hot path.

-- Instance-wide settings by key. `read_only` holds the maintenance flag as JSON; every server process
-- reads it about once a second, so switching it takes effect everywhere without a restart.
CREATE TABLE instance_settings (
  key        TEXT    PRIMARY KEY,
  value      TEXT    NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- How far `parley migrate` / `parley import` got copying from a source into this database: one row per
-- (source, logical table). Kept in the target so that the progress it records always describes the data
-- beside it (a recreated target starts over instead of trusting a stale file).
CREATE TABLE migration_checkpoints (
  source     TEXT    NOT NULL,
  tbl        TEXT    NOT NULL,
  cursor     TEXT,
  rows       INTEGER NOT NULL,
  done       INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (source, tbl)
) WITHOUT ROWID;
