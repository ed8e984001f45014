// The scale dataset of issue 17, written through the bulk writers (`storage.bulk`, what `parley migrate` and
// `parley import` use), never the HTTP API. Every record is a pure function of the plan, so the SQLite and the
// Cassandra copies are the same data (`parley verify` compares them) and an interrupted generation resumes
// where it stopped: `progress.json` in the dataset directory says which steps are done and how far the big
// channel got. The big channel is written newest first, so a generation cut short by its time budget still
// has the newest page, the viral message and as many years of history as it reached.
'use strict';
const { existsSync, readFileSync, writeFileSync } = require('node:fs');

const DAY = 86_400_000;
const YEAR = 365 * DAY;
/** The dataset's "now": fixed, so the ids (and so the buckets) are the same on every run. */
const T0 = Date.UTC(2026, 11, 1);
const HISTORY_YEARS = 4;
const CHUNK = 5000;
const PASSWORD = '$argon2id$v=19$m=19456,t=2,p=1$c2NhbGUtYmVuY2g$0000000000000000000000000000000000000000000';
const EVERYONE = String(0x1n | 0x40n | 0x400n | 0x800n | 0x8000n | 0x10000n | 0x100000n | 0x200000n);
const EMOJI = '🔥';

/**
 * The shape of the dataset: `members` in the big guild (plus `samples` more who react during the measurement),
 * `messages` in its first channel, `reactions` on one message of that channel, and a reader who is in
 * `guilds` guilds of `channels` channels each (the big guild is one of them). A small guild (5 channels, a
 * 1,000-message channel, a message with 3 reactions) is the comparison.
 */
function planOf(scale) {
  const plan = {
    members: scale.members,
    messages: scale.messages,
    reactions: Math.min(scale.reactions, scale.members),
    guilds: scale.guilds,
    channels: scale.channels,
    samples: scale.samples,
    smallMessages: 1000,
    // Distinct authors of the big channel: a history page has 50 of them either way.
    authors: 100,
  };
  plan.key = `m${plan.members}-n${plan.messages}-r${plan.reactions}-g${plan.guilds}x${plan.channels}`;
  return plan;
}

/** Snowflake ids from a fixed time and a sequence: ((ms - epoch) << 22) | seq, 4,096 per millisecond. */
function idsFor(epoch) {
  const at = (ms, seq = 0) => ((BigInt(ms - epoch) << 22n) | BigInt(seq & 0xfff)).toString();
  // Each kind of record counts from its own instant, well before the history starts.
  const base = T0 - HISTORY_YEARS * YEAR - 30 * DAY;
  return {
    user: (k) => at(base + Math.floor(k / 4096), k % 4096),
    guild: (g) => at(base + DAY + g),
    channel: (g, c) => at(base + 2 * DAY + g * 100 + c),
    // The other channels' messages: one each, in the last day.
    lastMessage: (g, c) => at(T0 - DAY + g * 100 + c, 1),
    big: (i, total) => at(T0 - HISTORY_YEARS * YEAR + Math.floor((i * HISTORY_YEARS * YEAR) / total), 2),
    small: (i) => at(T0 - 30 * DAY + i * 60_000, 3),
    fresh: (k) => at(T0 + DAY + k, 4),
  };
}

/** Who is who: user 0 reads (in every guild), user 1 is in the small guild only, users 0..authors-1 write. */
function layout(plan, ids) {
  const bigGuild = ids.guild(0);
  const smallGuild = ids.guild(plan.guilds);
  return {
    reader: ids.user(0),
    smallReader: ids.user(1),
    bigGuild,
    bigChannel: ids.channel(0, 0),
    smallGuild,
    smallChannel: ids.channel(plan.guilds, 0),
    // The viral message is the 10th newest of the big channel: on its newest page.
    viralIndex: plan.messages - 10,
    viral: ids.big(plan.messages - 10, plan.messages),
    smallViral: ids.small(plan.smallMessages - 10),
    // Members who have not reacted yet, for the react measurement (on the viral and on a fresh message).
    sampleUser: (k) => ids.user(plan.members + k),
  };
}

function userRecord(ids, k) {
  return {
    id: ids.user(k),
    username: `scale${k}`,
    email: `scale${k}@scale.invalid`,
    displayName: null,
    avatar: null,
    passwordHash: PASSWORD,
    createdAt: T0 - HISTORY_YEARS * YEAR,
    emailVerified: true,
    mfaSecret: null,
    mfaBackupCodes: [],
  };
}

function messageRecord(id, channelId, guildId, authorId, content) {
  return {
    id,
    channelId,
    guildId,
    authorId,
    content,
    editedAt: null,
    attachments: [],
    mentions: [],
    mentionRoles: [],
    mentionEveryone: false,
    pinned: false,
    type: 0,
    nonce: null,
    referenceId: null,
    embeds: [],
    flags: 0,
  };
}

async function writeAll(bulk, table, records) {
  for (let i = 0; i < records.length; i += CHUNK) {
    const failures = await bulk.write(table, records.slice(i, i + CHUNK));
    if (failures.length) throw new Error(`bulk ${table}: ${failures[0].error.message}`);
  }
}

/** A generator of `count` records in chunks, so 100,000 members never sit in memory at once. */
async function writeRange(bulk, table, count, make) {
  for (let i = 0; i < count; i += CHUNK) {
    const records = [];
    for (let k = i; k < Math.min(count, i + CHUNK); k++) records.push(make(k));
    const failures = await bulk.write(table, records);
    if (failures.length) throw new Error(`bulk ${table}: ${failures[0].error.message}`);
  }
}

/**
 * Writes what `progress` says is missing, within `budgetMs` for the big channel's history (the rest is small).
 * `log(line)` reports progress. Answers the progress (also saved to `progressPath` after every step).
 */
async function generate(storage, plan, { progressPath, budgetMs, log }) {
  const { snowflakeEpoch } = require('../../dist/libs/common/src');
  const epoch = snowflakeEpoch();
  const progress = existsSync(progressPath)
    ? JSON.parse(readFileSync(progressPath, 'utf8'))
    : { key: plan.key, epoch, steps: {}, bigWritten: 0 };
  if (progress.key !== plan.key) throw new Error(`${progressPath} belongs to dataset ${progress.key}`);
  if (progress.epoch !== epoch)
    throw new Error(`the database's snowflake epoch ${epoch} is not the dataset's ${progress.epoch}`);
  const save = () => writeFileSync(progressPath, JSON.stringify(progress, null, 2));
  const ids = idsFor(epoch);
  const who = layout(plan, ids);
  // A database wiped since (a new node, a deleted file) starts over.
  if (progress.steps.users && !(await storage.users.findById(who.reader))) {
    log('the dataset is gone from the database; generating it again');
    Object.assign(progress, { steps: {}, bigWritten: 0, bigSeconds: 0 });
  }
  const bulk = storage.bulk;
  const step = async (name, fn) => {
    if (progress.steps[name]) return;
    const t0 = performance.now();
    await fn();
    progress.steps[name] = { seconds: Math.round((performance.now() - t0) / 100) / 10 };
    save();
    log(`${name} written in ${progress.steps[name].seconds} s`);
  };
  const totalUsers = plan.members + plan.samples;

  await step('users', () => writeRange(bulk, 'users', totalUsers, (k) => userRecord(ids, k)));
  await step('guilds', async () => {
    const guilds = [];
    const roles = [];
    for (let g = 0; g <= plan.guilds; g++) {
      const id = ids.guild(g);
      guilds.push({
        id,
        name: g === plan.guilds ? 'small' : `scale ${g}`,
        icon: null,
        ownerId: who.reader,
        createdAt: T0 - HISTORY_YEARS * YEAR,
        defaultMessageNotifications: 1,
      });
      roles.push({
        id,
        guildId: id,
        name: '@everyone',
        permissions: EVERYONE,
        color: 0,
        position: 0,
        mentionable: false,
      });
    }
    await writeAll(bulk, 'guilds', guilds);
    await writeAll(bulk, 'roles', roles);
  });
  await step('channels', async () => {
    const channels = [];
    const channelOf = (g, c) => ({
      id: ids.channel(g, c),
      type: 0,
      guildId: ids.guild(g),
      name: `c${c}`,
      topic: null,
      parentId: null,
      position: c,
      recipients: [],
      overwrites: [],
    });
    for (let g = 0; g < plan.guilds; g++)
      for (let c = 0; c < plan.channels; c++) channels.push(channelOf(g, c));
    for (let c = 0; c < 5; c++) channels.push(channelOf(plan.guilds, c));
    await writeAll(bulk, 'channels', channels);
  });
  const member = (guildId, userId) => ({
    guildId,
    userId,
    nick: null,
    roles: [],
    joinedAt: T0 - HISTORY_YEARS * YEAR,
  });
  await step('members', async () => {
    // The big guild: everyone. The reader's other guilds: the reader and 9 authors. The small guild: user 1.
    await writeRange(bulk, 'members', totalUsers, (k) => member(who.bigGuild, ids.user(k)));
    const rest = [];
    for (let g = 1; g < plan.guilds; g++)
      for (let k = 0; k < 10; k++) if (k !== 1) rest.push(member(ids.guild(g), ids.user(k)));
    for (let k = 1; k < 10; k++) rest.push(member(who.smallGuild, ids.user(k)));
    await writeAll(bulk, 'members', rest);
  });
  await step('small-channels', async () => {
    // One message in every channel but the two history channels, and the reader's read state there.
    const messages = [];
    const readStates = [];
    const channels = [];
    for (let g = 0; g <= plan.guilds; g++)
      for (let c = 0; c < (g === plan.guilds ? 5 : plan.channels); c++) {
        if (c === 0) continue;
        const id = ids.lastMessage(g, c);
        messages.push(messageRecord(id, ids.channel(g, c), ids.guild(g), ids.user(2 + (c % 8)), 'hello'));
        channels.push({ channelId: ids.channel(g, c), lastMessageId: id });
        if (g < plan.guilds)
          readStates.push({
            userId: who.reader,
            channelId: ids.channel(g, c),
            lastMessageId: id,
            mentionCount: 0,
          });
      }
    await writeAll(bulk, 'messages', messages);
    await writeAll(bulk, 'channel_last_messages', channels);
    await writeAll(bulk, 'read_states', readStates);
    const small = [];
    for (let i = 0; i < plan.smallMessages; i++)
      small.push(
        messageRecord(ids.small(i), who.smallChannel, who.smallGuild, ids.user(1 + (i % 9)), `small ${i}`),
      );
    await writeAll(bulk, 'messages', small);
    await writeAll(bulk, 'channel_last_messages', [
      { channelId: who.smallChannel, lastMessageId: ids.small(plan.smallMessages - 1) },
    ]);
    await writeAll(
      bulk,
      'reactions',
      [1, 2, 3].map((k) => ({
        channelId: who.smallChannel,
        messageId: who.smallViral,
        emoji: EMOJI,
        userId: ids.user(k),
      })),
    );
  });

  // The big channel, newest first, resumable chunk by chunk.
  const deadline = performance.now() + budgetMs;
  if (progress.bigWritten === 0)
    await writeAll(bulk, 'channel_last_messages', [
      { channelId: who.bigChannel, lastMessageId: ids.big(plan.messages - 1, plan.messages) },
    ]);
  let reported = performance.now();
  const started = { at: performance.now(), written: progress.bigWritten };
  const chunkAt = (top) => {
    const records = [];
    for (let i = top; i > top - CHUNK && i >= 0; i--)
      records.push(
        messageRecord(
          ids.big(i, plan.messages),
          who.bigChannel,
          who.bigGuild,
          ids.user(i % plan.authors),
          `scale ${i % 997}`,
        ),
      );
    return records;
  };
  while (progress.bigWritten < plan.messages && performance.now() < deadline) {
    // Two chunks at once (the writer bounds the requests in flight); progress moves once both are written.
    const top = plan.messages - 1 - progress.bigWritten;
    const chunks = [chunkAt(top), top - CHUNK >= 0 ? chunkAt(top - CHUNK) : []];
    try {
      await Promise.all(chunks.map((records) => records.length && bulk.write('messages', records)));
    } catch (err) {
      // An overloaded node (the bulk writer has retried already): stop here; the next run resumes.
      log(`big channel: stopped at ${progress.bigWritten.toLocaleString('en')} messages: ${err.message}`);
      break;
    }
    progress.bigWritten += chunks[0].length + chunks[1].length;
    save();
    if (performance.now() - reported > 15_000) {
      reported = performance.now();
      const rate = (progress.bigWritten - started.written) / ((reported - started.at) / 1000);
      log(
        `big channel: ${progress.bigWritten.toLocaleString('en')} of ${plan.messages.toLocaleString('en')} messages (${Math.round(rate)}/s)`,
      );
    }
  }
  if (progress.bigWritten > 0 && !progress.steps.viral)
    await step('viral', () =>
      writeRange(bulk, 'reactions', plan.reactions, (k) => ({
        channelId: who.bigChannel,
        messageId: who.viral,
        emoji: EMOJI,
        userId: ids.user(k),
      })),
    );
  progress.bigSeconds = (progress.bigSeconds ?? 0) + Math.round((performance.now() - started.at) / 1000);
  save();
  // SQLite indexes imported messages for search in the background (a batch per tick on the writer): caught
  // up here, off the clock, so the measurements do not share the writer with an import's backlog.
  if (storage.backend === 'sqlite' && progress.bigWritten === plan.messages) {
    const t0 = performance.now();
    let indexed = 0;
    for (let n = 1; n > 0 && performance.now() < deadline + 120_000;) {
      n = storage.messageSearch.indexPending(4);
      indexed += n;
    }
    if (indexed)
      log(
        `search index caught up with ${indexed.toLocaleString('en')} messages in ${Math.round((performance.now() - t0) / 1000)} s`,
      );
  }
  return progress;
}

/** After a purge of the big channel: its record, history and reactions are to be written again. */
function forgetBigChannel(progressPath) {
  const progress = JSON.parse(readFileSync(progressPath, 'utf8'));
  delete progress.steps.channels;
  delete progress.steps.viral;
  Object.assign(progress, { bigWritten: 0, bigSeconds: 0 });
  writeFileSync(progressPath, JSON.stringify(progress, null, 2));
}

module.exports = {
  forgetBigChannel,
  planOf,
  idsFor,
  layout,
  generate,
  messageRecord,
  T0,
  EMOJI,
  HISTORY_YEARS,
};
