import { SnowflakeGenerator } from '@parley/common';
import {
  BUCKET_MS,
  bucketOf,
  CassandraStorage,
  DatabaseUnavailableError,
  type MessageRecord,
} from '@parley/storage';
import { messageRecord, searchWord, userRecord } from '@parley/storage/testing';
import { types } from 'cassandra-driver';
import { cassandraSettings, dropKeyspace, requireCassandra, testKeyspace } from '../cassandra/support';
import { RecordingTracker } from '../cassandra/tracker';

// Driver behaviour the contract suite cannot see: consistency levels on the wire, prepared statements,
// no null writes, bucket skipping, and failing fast with 503. Needs `npm run cassandra:up`.
jest.setTimeout(120_000);

const keyspace = testKeyspace('parley_driver');
const gen = new SnowflakeGenerator(1, 9);
const DAY = 24 * 60 * 60 * 1000;

const message = (id: string, channelId: string, overrides: Partial<MessageRecord> = {}): MessageRecord =>
  messageRecord({ id, channelId, authorId: gen.next(), content: 'hi', ...overrides });

const user = (id: string) => userRecord(id);

describe('cassandra driver on a real node', () => {
  let defaults: CassandraStorage;
  const tracker = new RecordingTracker();

  beforeAll(async () => {
    await requireCassandra();
    defaults = new CassandraStorage(cassandraSettings({ keyspace }), { requestTracker: tracker });
    await defaults.migrate();
  });

  afterAll(async () => {
    await defaults?.close();
    await dropKeyspace(keyspace);
  });

  // A send's search posting is written after the send answers (search-postings.ts): let the previous test's
  // land before clearing, or it is recorded as this test's write.
  beforeEach(async () => {
    await defaults.messages.postings.settled();
    tracker.clear();
  });

  it('sends reads and writes at LOCAL_QUORUM and LWTs at SERIAL by default, all prepared', async () => {
    const id = gen.next();
    await defaults.users.create(user(id));
    await defaults.users.findById(id);
    const channelId = gen.next();
    await defaults.messages.create(message(gen.next(), channelId));
    await defaults.messages.listLatest(channelId, 10);

    const claims = tracker.matching(/IF NOT EXISTS/);
    expect(claims).toHaveLength(2); // username and email
    for (const claim of claims) {
      expect(claim).toMatchObject({
        consistency: 'localQuorum',
        serialConsistency: 'serial',
        idempotent: false,
      });
    }
    const reads = tracker.matching(/^SELECT/);
    const writes = tracker.matching(/^(INSERT|UPDATE|DELETE)(?!.* IF )/);
    expect(reads.length).toBeGreaterThanOrEqual(3);
    expect(writes.length).toBeGreaterThanOrEqual(3);
    for (const r of reads) expect(r.consistency).toBe('localQuorum');
    for (const w of writes) expect(w).toMatchObject({ consistency: 'localQuorum', idempotent: true });
    for (const r of tracker.requests) expect(r.prepared).toBe(true);

    // The coordinator reports the level it achieved.
    const rs = await defaults.session.execute('read', 'SELECT id FROM users WHERE id = ?', [BigInt(id)], {
      idempotent: true,
    });
    expect(rs.info.achievedConsistency).toBe(types.consistencies.localQuorum);
  });

  it('uses the configured level of each operation class', async () => {
    const custom = new CassandraStorage(
      cassandraSettings({
        keyspace,
        consistency: { read: 'LOCAL_ONE', write: 'QUORUM', serial: 'LOCAL_SERIAL', claim: 'SERIAL' },
      }),
      { requestTracker: tracker },
    );
    try {
      const id = gen.next();
      await custom.users.create(user(id));
      expect(await custom.users.findById(id)).not.toBeNull();
      const channelId = gen.next();
      const m = message(gen.next(), channelId);
      await custom.messages.create(m);
      expect(await custom.messages.find(channelId, m.id)).toEqual(m);
      await custom.readStates.incrementMentions(channelId, [id]);

      for (const r of tracker.matching(/^SELECT/)) expect(r.consistency).toBe('localOne');
      for (const w of tracker.matching(/^(INSERT|UPDATE|DELETE)(?!.* IF )/))
        expect(w.consistency).toBe('quorum');
      // Claims that must be unique in every data centre run their Paxos at `claim` (SERIAL); other LWTs at `serial`.
      const claims = tracker.matching(/^INSERT INTO users_by_(username|email) .* IF NOT EXISTS/);
      expect(claims).toHaveLength(2);
      for (const c of claims) expect(c).toMatchObject({ consistency: 'quorum', serialConsistency: 'serial' });
      for (const l of tracker.matching(/ IF /).filter((r) => !claims.includes(r)))
        expect(l).toMatchObject({ consistency: 'quorum', serialConsistency: 'localSerial' });
      // Counter increments are never retried (not idempotent).
      expect(tracker.matching(/mentions = mentions \+/)[0]).toMatchObject({ idempotent: false });
    } finally {
      await custom.close();
    }
  });

  it('never binds null for an absent value: unset columns are left out of the write', async () => {
    const channelId = gen.next();
    await defaults.messages.create(message(gen.next(), channelId)); // guildId, editedAt, nonce null; lists empty
    await defaults.users.create(user(gen.next())); // displayName, avatar null
    await defaults.channels.create({
      id: gen.next(),
      type: 1,
      guildId: null,
      name: null,
      topic: null,
      parentId: null,
      position: 0,
      recipients: [],
      overwrites: [],
    });
    const inserts = tracker.matching(/INSERT/);
    expect(inserts.length).toBeGreaterThanOrEqual(5);
    for (const insert of inserts) expect(insert.params).not.toContain(null);
    // ...and they are read back as null / empty.
    const [stored] = await defaults.messages.listLatest(channelId, 1);
    expect(stored).toMatchObject({
      guildId: null,
      editedAt: null,
      nonce: null,
      attachments: [],
      mentions: [],
    });
  });

  it('reads history across a long gap by visiting only the buckets that hold messages', async () => {
    const channelId = gen.next();
    const t0 = Date.now() - 900 * DAY;
    const at = (ms: number) => new SnowflakeGenerator(1, 10, () => ms).next();
    // Three messages 400 days apart: 80 empty 10-day buckets lie between them.
    const ids = [at(t0), at(t0 + 400 * DAY), at(t0 + 800 * DAY)];
    for (const id of ids) await defaults.messages.create(message(id, channelId));
    expect(new Set(ids.map(bucketOf)).size).toBe(3);
    expect(bucketOf(ids[2]) - bucketOf(ids[0])).toBe(Math.round((800 * DAY) / BUCKET_MS));

    tracker.clear();
    const page = await defaults.messages.listLatest(channelId, 10);
    expect(page.map((m) => m.id)).toEqual([...ids].reverse());
    const partitionReads = tracker.matching(/FROM messages/);
    // Newest first: the newest alone, then the two others together (the page proved sparse).
    expect(partitionReads[0].params[1]).toBe(bucketOf(ids[2]));
    expect(partitionReads.map((r) => r.params[1] as number).sort((a, b) => b - a)).toEqual(
      [ids[2], ids[1], ids[0]].map(bucketOf),
    );
    expect(tracker.matching(/FROM channel_buckets/)).toHaveLength(1);

    tracker.clear();
    expect((await defaults.messages.listBefore(channelId, ids[2], 10)).map((m) => m.id)).toEqual([
      ids[1],
      ids[0],
    ]);
    // The cursor's own bucket (nothing older there), then the two other non-empty buckets (read together: the
    // page proved sparse), and the bucket list from the cache.
    expect(
      tracker
        .matching(/FROM messages/)
        .map((r) => r.params[1] as number)
        .sort((a, b) => b - a),
    ).toEqual([ids[2], ids[1], ids[0]].map(bucketOf));
    expect(tracker.matching(/FROM channel_buckets/)).toHaveLength(0);

    tracker.clear();
    expect((await defaults.messages.listAfter(channelId, ids[0], 1)).map((m) => m.id)).toEqual([ids[1]]);
    // The cursor's bucket, then the next two read ahead together (the third may still be in flight here).
    const afterReads = tracker.matching(/FROM messages/).map((r) => r.params[1]);
    expect(afterReads).toEqual(expect.arrayContaining([ids[0], ids[1]].map(bucketOf)));
    expect(afterReads.length).toBeLessThanOrEqual(3);

    expect((await defaults.messages.lastMessageIds([channelId])).get(channelId)).toBe(ids[2]);
  });

  it('sends one request for N concurrent identical hot reads (channel, authors, bucket list)', async () => {
    const channelId = gen.next();
    const guildId = gen.next();
    await defaults.channels.create({
      id: channelId,
      type: 0,
      guildId,
      name: 'hot',
      topic: null,
      parentId: null,
      position: 0,
      recipients: [],
      overwrites: [],
    });
    const authorId = gen.next();
    await defaults.users.create(user(authorId));
    const monthAgo = new SnowflakeGenerator(1, 11, () => Date.now() - 30 * DAY).next();
    await defaults.messages.create(message(monthAgo, channelId, { authorId }));
    // Another process's view (nothing cached, nothing it wrote itself).
    const other = new CassandraStorage(cassandraSettings({ keyspace }), { requestTracker: tracker });
    try {
      tracker.clear();
      const n = 20;
      const [channels, authors, pages] = await Promise.all([
        Promise.all(Array.from({ length: n }, () => other.channels.findById(channelId))),
        Promise.all(Array.from({ length: n }, () => other.users.findByIds([authorId]))),
        Promise.all(Array.from({ length: n }, () => other.messages.listLatest(channelId, 50))),
      ]);
      for (const channel of channels) expect(channel?.name).toBe('hot');
      for (const found of authors) expect(found.map((u) => u.id)).toEqual([authorId]);
      for (const page of pages) expect(page).toHaveLength(1);
      expect(tracker.matching(/FROM channels WHERE id/)).toHaveLength(1);
      expect(tracker.matching(/FROM channel_overwrites/)).toHaveLength(1);
      expect(tracker.matching(/FROM users WHERE id/)).toHaveLength(1);
      expect(tracker.matching(/FROM channel_buckets/)).toHaveLength(1);
      const stats = new Map(other.hotReads.stats().map((s) => [s.cache, s]));
      expect(stats.get('channels')).toMatchObject({ misses: 1, coalesced: n - 1 });
      expect(stats.get('users')).toMatchObject({ misses: 1, coalesced: n - 1 });
      expect(stats.get('channel_buckets')).toMatchObject({ misses: 1, coalesced: n - 1 });

      // Cached now: no request at all.
      tracker.clear();
      await other.channels.findById(channelId);
      await other.users.findByIds([authorId]);
      expect(tracker.requests).toHaveLength(0);

      // A change by the first process reaches the other by the bus's invalidation (forget*), which the
      // platform wires to CHANNEL_* and USER_UPDATE events.
      await defaults.channels.update(channelId, { name: 'renamed' });
      await defaults.users.update(authorId, { displayName: 'Renamed' });
      other.hotReads.forgetChannel(channelId);
      other.hotReads.forgetUser(authorId);
      expect((await other.channels.findById(channelId))?.name).toBe('renamed');
      expect((await other.users.findByIds([authorId]))[0]?.displayName).toBe('Renamed');

      // A message sent now lands in a bucket the other's cached list lacks: found without any invalidation.
      const now = gen.next();
      await defaults.messages.create(message(now, channelId, { authorId }));
      expect((await other.messages.listLatest(channelId, 50)).map((m) => m.id)).toEqual([now, monthAgo]);
      expect(other.hotReads.stats().find((s) => s.cache === 'channel_buckets')?.hits).toBeGreaterThan(0);
    } finally {
      await other.close();
    }
  });

  it("reads a page's uncached authors in one request, skipping missing and deleted users", async () => {
    const authors = Array.from({ length: 40 }, () => gen.next());
    for (const id of authors) await defaults.users.create(user(id));
    const deleted = authors[7];
    await defaults.users.delete(deleted);
    const unknown = gen.next();
    // Another process's view: nothing cached.
    const other = new CassandraStorage(cassandraSettings({ keyspace }), { requestTracker: tracker });
    try {
      const cachedFirst = authors.slice(0, 5);
      await other.users.findByIds(cachedFirst);
      tracker.clear();
      const asked = [...authors, unknown, authors[3]].reverse();
      const found = await other.users.findByIds(asked);
      expect(found.map((u) => u.id).sort()).toEqual(authors.filter((id) => id !== deleted).sort());
      // The five already cached are not asked again; the rest go as one IN request.
      const reads = tracker.matching(/FROM users WHERE id/);
      expect(reads).toHaveLength(1);
      expect(reads[0]?.query).toMatch(/WHERE id IN \?/);
      expect((reads[0]?.params[0] as unknown[]).length).toBe(authors.length - cachedFirst.length + 1);

      // Found users are cached, the missing ones are asked again (a user created meanwhile appears).
      tracker.clear();
      await other.users.findByIds(authors);
      const again = tracker.matching(/FROM users WHERE id/);
      expect(again).toHaveLength(1);
      expect(again[0]?.params[0]).toHaveLength(1);
    } finally {
      await other.close();
    }
  });

  it('reads a page around a message in two round trips: anchor in the older slice, own reactions beside counts', async () => {
    const channelId = gen.next();
    const ids = Array.from({ length: 30 }, () => gen.next());
    for (const id of ids) await defaults.messages.create(message(id, channelId));
    const anchor = ids[20];
    const [viewer, fan] = [gen.next(), gen.next()];
    await defaults.reactions.add(channelId, anchor, '🔥', viewer);
    await defaults.reactions.add(channelId, anchor, '🔥', fan);
    await defaults.reactions.add(channelId, ids[18], '👀', fan);
    // Another process's view; every statement it sends noted with the order it was sent and answered in.
    const other = new CassandraStorage(cassandraSettings({ keyspace }), { requestTracker: tracker });
    const events: string[] = [];
    const client = other.session.client;
    const execute = client.execute.bind(client) as (...a: unknown[]) => Promise<types.ResultSet>;
    (client as unknown as { execute: (...a: unknown[]) => Promise<types.ResultSet> }).execute = (...a) => {
      const name = String(a[0])
        .replace(/\s+/g, ' ')
        .replace(/^SELECT .*? FROM (\w+).*$/, '$1');
      events.push(`send ${name}`);
      const answer = execute(...a);
      const done = () => events.push(`done ${name}`);
      answer.then(done, done);
      return answer;
    };
    const around = async () => {
      const page = await other.messages.listAround(channelId, anchor, 11);
      return {
        page,
        counts: await other.reactions.counts(
          channelId,
          page.map((m) => m.id),
          viewer,
        ),
      };
    };
    try {
      await other.messages.listLatest(channelId, 1); // the bucket list, cached
      events.length = 0;
      const first = await around();
      expect(first.page.map((m) => m.id)).toEqual(ids.slice(15, 26).reverse());
      // The anchor comes in the older side's slice: two slices, no read of the anchor alone.
      expect(events.filter((e) => e === 'send messages')).toHaveLength(2);
      expect(first.counts).toEqual([
        { messageId: anchor, emoji: '🔥', count: 2, me: true },
        { messageId: ids[18], emoji: '👀', count: 1, me: false },
      ]);
      // A first read: the viewer's reactions once the counts name the emojis.
      expect(events.slice(4)).toEqual([
        'send reaction_counts',
        'done reaction_counts',
        'send reactions_by_shard',
        'done reactions_by_shard',
      ]);

      // Read again: the viewer's reactions among the emojis seen are asked beside the counts, one round trip.
      events.length = 0;
      const again = await around();
      expect(again.counts).toEqual(first.counts);
      expect(events.slice(4)).toEqual([
        'send reaction_counts',
        'send reactions_by_shard',
        expect.stringMatching(/^done /),
        expect.stringMatching(/^done /),
      ]);
      // Point reads of (message, emoji, viewer) keys only: never a slice of a message's reactors.
      const mine = tracker.matching(/FROM reactions_by_shard/).at(-1);
      expect(mine?.query).toMatch(/\(message_id, emoji, user_id\) IN \?/);

      // An emoji not seen before is asked after the counts, on its own.
      await defaults.reactions.add(channelId, ids[22], '🎉', viewer);
      events.length = 0;
      tracker.clear();
      expect((await around()).counts).toEqual([
        { messageId: ids[22], emoji: '🎉', count: 1, me: true },
        { messageId: anchor, emoji: '🔥', count: 2, me: true },
        { messageId: ids[18], emoji: '👀', count: 1, me: false },
      ]);
      const followUp = tracker.matching(/FROM reactions_by_shard/);
      expect(followUp).toHaveLength(2);
      expect((followUp.at(-1)?.params[3] as unknown[]).length).toBe(1);
    } finally {
      await other.close();
    }
  });

  it("writes a send's search posting after the send, at the message's time: a late posting undoes no edit or delete", async () => {
    const guildId = gen.next();
    const channelId = gen.next();
    const edited = message(gen.next(), channelId, { guildId, content: 'harbour lantern' });
    const deleted = message(gen.next(), channelId, { guildId, content: 'harbour beacon' });
    await defaults.messages.create(edited);
    await defaults.messages.create(deleted);
    const search = (word: string) => searchWord(defaults, guildId, [channelId], word);
    // The next search through this process waits for postings still being written.
    expect(await search('harbour')).toEqual([deleted.id, edited.id]);

    await defaults.messages.update(
      channelId,
      edited.id,
      { content: 'quay lantern', editedAt: Date.now() },
      guildId,
    );
    await defaults.messages.delete(channelId, deleted.id, guildId);
    // The sends' postings land again now, after the edit and the delete (as a retried write would): written at
    // the messages' snowflake times, they are older than both.
    defaults.messages.postings.write(edited);
    defaults.messages.postings.write(deleted);
    expect(await search('harbour')).toEqual([]);
    expect(await search('quay')).toEqual([edited.id]);
    expect(defaults.messages.postings.lost).toBe(0);
  });

  it('sweeps unclaimed uploads from uploads_by_hour, each hour once, after one first scan', async () => {
    const HOUR = 3_600_000;
    const at = (ms: number) => new SnowflakeGenerator(1, 13, () => ms).next();
    const upload = (id: string, createdAt: number) => ({
      id,
      channelId: gen.next(),
      uploaderId: gen.next(),
      messageId: null,
      filename: 'a.png',
      size: 10,
      contentType: 'image/png',
      width: null,
      height: null,
      createdAt,
    });
    const sweep = async (before: number) => {
      const found: string[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 10_000; pages++) {
        const page: { attachments: { id: string }[]; cursor: string | null } =
          await defaults.attachments.listUnclaimed(before, { limit: 2, cursor });
        found.push(...page.attachments.map((a) => a.id));
        await defaults.attachments.deleteUnclaimed(page.attachments.map((a) => a.id));
        cursor = page.cursor;
        if (cursor === null) break;
      }
      return found;
    };
    // The first round (no watermark yet) scans the table once.
    tracker.clear();
    await sweep(Date.now() - 6 * HOUR);
    expect(tracker.matching(/FROM attachments LIMIT/).length).toBe(1);

    const t = Date.now() - 3 * HOUR;
    const [a, b, c, claimed, fresh] = [at(t), at(t + 1), at(t + 2), at(t + 3), gen.next()];
    for (const id of [a, b, c, claimed]) await defaults.attachments.create(upload(id, t));
    await defaults.attachments.create(upload(fresh, Date.now()));
    expect(
      await defaults.attachments.attach(claimed, {
        channelId: gen.next(),
        uploaderId: gen.next(),
        messageId: '1',
      }),
    ).toBe(false); // a claim must name the upload's channel and uploader
    const record = await defaults.attachments.find(claimed);
    expect(
      await defaults.attachments.attach(claimed, {
        channelId: record!.channelId,
        uploaderId: record!.uploaderId,
        messageId: gen.next(),
      }),
    ).toBe(true);

    tracker.clear();
    expect((await sweep(Date.now() - HOUR)).sort()).toEqual([a, b, c].sort());
    // No scan of attachments; only hours wholly before the cut were read, the claimed upload's marker is gone.
    expect(tracker.matching(/FROM attachments LIMIT|token\(id\)/)).toHaveLength(0);
    const hours = new Set(tracker.matching(/FROM uploads_by_hour/).map((r) => r.params[0] as number));
    const hourOf = (ms: number) => Math.floor(ms / HOUR);
    expect(Math.max(...hours)).toBe(hourOf(Date.now() - HOUR) - 1);
    expect(hours.has(hourOf(t))).toBe(true);
    expect(await defaults.attachments.find(fresh)).not.toBeNull();
    expect(await defaults.attachments.find(claimed)).not.toBeNull();

    // The next round starts after the hours finished: the hour of a, b, c is not read again.
    tracker.clear();
    expect(await sweep(Date.now() - HOUR)).toEqual([]);
    const again = tracker.matching(/FROM uploads_by_hour/).map((r) => r.params[0] as number);
    expect(again.every((h) => h > hourOf(t))).toBe(true);
  });

  it('answers 503 (DatabaseUnavailableError) within request_timeout when no node is reachable', async () => {
    // Nothing listens on 127.0.0.9:9042.
    const unreachable = new CassandraStorage(
      cassandraSettings({ keyspace, hosts: ['127.0.0.9'], request_timeout: 3000 }),
    );
    try {
      const started = Date.now();
      const err = await unreachable.users.findById('1').then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DatabaseUnavailableError);
      expect(err).toMatchObject({ status: 503 });
      expect(Date.now() - started).toBeLessThan(3500);
      await expect(unreachable.ping()).rejects.toBeInstanceOf(DatabaseUnavailableError);
    } finally {
      await unreachable.close();
    }
  });
});
