// The closed-loop message writer of figures 7 (persist.cjs, SQLite) and 7c (cassandra-persist.cjs): `inflight`
// concurrent creates through a storage's message repository, over 10 channels, one author.
'use strict';
const { SnowflakeGenerator } = require('../../dist/libs/common/src');

/**
 * Returns `load(count, {seconds, keepGoing})`, which creates `count` messages (or as many as fit in `seconds`)
 * and resolves with { attempted, errors, firstError }. A failed create rejects the load unless `keepGoing`, in
 * which case it is counted and the worker stops after more than 1000 errors.
 */
function messageWriter(storage, { inflight, node }) {
  const ids = new SnowflakeGenerator(0, node);
  const channels = Array.from({ length: 10 }, () => ids.next());
  const author = ids.next();
  const message = (i) => ({
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
    referenceId: null,
  });
  return async function load(count, { seconds = Infinity, keepGoing = false } = {}) {
    let next = 0;
    let errors = 0;
    let firstError = null;
    const stopAt = performance.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: inflight }, async () => {
        while (next < count && performance.now() < stopAt) {
          const i = next++;
          try {
            await storage.messages.create(message(i));
          } catch (err) {
            if (!keepGoing) throw err;
            errors++;
            firstError ??= String(err?.message ?? err);
            if (errors > 1000) break;
          }
        }
      }),
    );
    return { attempted: next, errors, firstError };
  };
}

module.exports = { messageWriter };
