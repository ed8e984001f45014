// Figure 7: messages persisted per second through the SQLite driver (group commit), in a process of its own.
'use strict';
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { SqliteStorage } = require('../../dist/libs/storage/src');
const { SnowflakeGenerator } = require('../../dist/libs/common/src');

async function main() {
  const total = Number(process.argv[2] ?? 20000);
  const dir = mkdtempSync(join(tmpdir(), 'parley-persist-'));
  const storage = new SqliteStorage({
    path: join(dir, 'p.db'),
    max_open_conns: 1,
    busy_timeout: 5000,
    cache_size: -65536,
    mmap_size: 268435456,
    synchronous: 'NORMAL',
    wal_autocheckpoint: 1000,
  });
  await storage.migrate();
  const ids = new SnowflakeGenerator(0, 1);
  const channels = Array.from({ length: 10 }, () => ids.next());
  const author = ids.next();
  const inflight = 512;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (next < total) {
        const i = next++;
        await storage.messages.create({
          id: ids.next(),
          channelId: channels[i % channels.length],
          guildId: null,
          authorId: author,
          content: `persisted message number ${i} with a realistic length of text`,
          editedAt: null,
          attachments: [],
          mentions: [],
          mentionEveryone: false,
          pinned: false,
          type: 0,
          nonce: null,
        });
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
  process.send({ per_s: Math.round(total / seconds), total, seconds });
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
