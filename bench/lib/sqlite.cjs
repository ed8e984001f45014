// The SQLite storage the benchmarks open outside the server (seeding, figure 7, the migration source): one
// connection, WAL, synchronous=NORMAL, a 64 MiB page cache and 256 MiB of mmap.
'use strict';
const { SqliteStorage } = require('../../dist/libs/storage/src');

/** A SqliteStorage on the database file at `path` (not migrated yet). */
function openSqlite(path) {
  return new SqliteStorage({
    path,
    max_open_conns: 1,
    busy_timeout: 5000,
    cache_size: -65536,
    mmap_size: 268435456,
    synchronous: 'NORMAL',
    wal_autocheckpoint: 1000,
  });
}

module.exports = { openSqlite };
