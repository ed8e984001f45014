// Figure 7: messages persisted per second through the SQLite driver (group commit), in a process of its own.
'use strict';
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { openSqlite } = require('../lib/sqlite.cjs');
const { messageWriter } = require('./persist-writer.cjs');

async function main() {
  const total = Number(process.argv[2] ?? 20000);
  const dir = mkdtempSync(join(tmpdir(), 'parley-persist-'));
  const storage = openSqlite(join(dir, 'p.db'));
  await storage.migrate();
  const load = messageWriter(storage, { inflight: 512, node: 1 });
  const t0 = performance.now();
  await load(total);
  const seconds = (performance.now() - t0) / 1000;
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
  process.send({ per_s: Math.round(total / seconds), total, seconds });
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
