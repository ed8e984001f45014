import { SnowflakeGenerator } from '@parley/common';
import type { ChannelRecord, MessageRecord, RoleRecord, Storage } from '@parley/storage';

export interface SampleSize {
  users: number;
  guilds: number;
  /** Text channels per guild (plus a category and a voice channel each). */
  channels: number;
  messages: number;
  /** Direct-message pairs (each with a few messages, out of `messages`). */
  dms: number;
  /** Days back in time the messages span (several 10-day Cassandra buckets by default). */
  days?: number;
}

export interface SampleSummary {
  users: string[];
  guilds: string[];
  channels: string[];
  messages: number;
  reactions: number;
  edited: number;
}

/** A deterministic generator (xorshift), so two runs with one seed make the same community. */
class Random {
  constructor(private state: number) {}
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state / 0x100000000;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

const WORDS =
  'the quick brown fox jumps over a lazy dog while parley keeps every message safe and sound'.split(' ');
const EMOJI = ['👍', '🎉', '❤️', '😂', 'parley_blob'];

/**
 * A synthetic community written through the storage repositories (as the services would): users,
 * guilds with roles, categories, text and voice channels, overwrites, members with roles, bans (and their audit log entries),
 * custom emoji, invites, DMs, messages over several weeks with mentions, edits, pins and attachments, reactions, read
 * states with unread mentions, and a pending job. For migration tests and the migration benchmark.
 */
export async function seedCommunity(storage: Storage, size: SampleSize, seed = 42): Promise<SampleSummary> {
  const random = new Random(seed);
  const now = Date.now();
  const start = now - (size.days ?? 45) * 24 * 3600 * 1000;
  const ids = new SnowflakeGenerator(5, 17, () => now);
  const id = (): string => ids.next();
  // Message ids march from `start` to now, so they fall into several time buckets.
  let clock = start;
  const step = (now - start) / Math.max(1, size.messages);
  const messageIds = new SnowflakeGenerator(5, 18, () => Math.floor(clock));

  const users = Array.from({ length: size.users }, () => id());
  for (const [i, userId] of users.entries())
    await storage.users.create({
      id: userId,
      username: `sample_${i}_${userId.slice(-6)}`,
      email: `sample${i}.${userId}@example.test`,
      displayName: i % 3 === 0 ? `Sample ${i}` : null,
      avatar: null,
      passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FtcGxlc2FsdA$sample',
      createdAt: start,
      // Every seventh user is a bot application owned by the first user (issue 21's columns travel too).
      ...(i > 0 && i % 7 === 0 ? { botOwnerId: users[0], appFlags: (1 << 14) | (1 << 18) } : {}),
      emailVerified: i % 4 !== 1,
      mfaSecret: i % 5 === 2 ? 'JBSWY3DPEHPK3PXP' : null,
      mfaBackupCodes: i % 5 === 2 ? [`${userId}`.padStart(64, 'a')] : [],
      // Issue 23's instance flags: the first user administers the instance, a few are disabled or waiting.
      admin: i === 0,
      disabled: i % 11 === 3,
      approvalPending: i % 13 === 5,
    });
  // The instance audit log: the admin's actions on some of those accounts.
  for (const [n, userId] of users.slice(1, 4).entries())
    await storage.instanceAuditLog.append({
      id: id(),
      actorId: users[0],
      action: n === 2 ? 'registration.approve' : 'user.disable',
      targetType: n === 2 ? 'registration' : 'user',
      targetId: userId,
      reason: n === 0 ? 'spam' : null,
      expiresAt: now + 365 * 86_400_000,
    });
  for (const userId of users.slice(0, 5))
    await storage.tokens.create({
      tokenHash: `${userId}`.padStart(64, '0'),
      userId,
      createdAt: now,
      expiresAt: null,
    });

  const guilds: string[] = [];
  const channels: { id: string; guildId: string | null; members: string[] }[] = [];
  // Each guild's mentionable role, for messages that mention it.
  const mentionableRoles = new Map<string, string>();
  // One incoming webhook per guild, in its first channel; some messages are its executions.
  const webhooks = new Map<string, { id: string; channelId: string }>();
  for (let g = 0; g < size.guilds; g++) {
    const guildId = id();
    guilds.push(guildId);
    const owner = users[g % users.length];
    const everyone: RoleRecord = {
      id: guildId,
      guildId,
      name: '@everyone',
      permissions: '104324673',
      color: 0,
      position: 0,
      mentionable: false,
    };
    const category: ChannelRecord = {
      id: id(),
      type: 4,
      guildId,
      name: 'Text channels',
      topic: null,
      parentId: null,
      position: 0,
      recipients: [],
      overwrites: [],
    };
    const general: ChannelRecord = { ...category, id: id(), type: 0, name: 'general', parentId: category.id };
    await storage.guilds.createWithDefaults(
      {
        id: guildId,
        name: `Guild ${g}`,
        icon: null,
        ownerId: owner,
        createdAt: start,
        defaultMessageNotifications: 0,
      },
      everyone,
      [category, general],
      { guildId, userId: owner, nick: null, roles: [], joinedAt: start },
    );
    const mods: RoleRecord = {
      id: id(),
      guildId,
      name: 'mods',
      permissions: '8192',
      color: 0x3366ff,
      position: 1,
      mentionable: true,
    };
    await storage.roles.create(mods);
    mentionableRoles.set(guildId, mods.id);
    const members = [owner, ...users.filter((u, i) => u !== owner && (i + g) % 3 !== 0)];
    for (const [i, userId] of members.slice(1).entries())
      await storage.members.add({
        guildId,
        userId,
        nick: i % 4 === 0 ? `nick${i}` : null,
        roles: i % 5 === 0 ? [mods.id] : [],
        joinedAt: start + i,
      });
    channels.push({ id: general.id, guildId, members });
    for (let c = 1; c < size.channels; c++) {
      const channel: ChannelRecord = {
        ...general,
        id: id(),
        name: `channel-${c}`,
        topic: c % 2 ? `topic ${c}` : null,
        position: c,
        overwrites: [],
      };
      await storage.channels.create(channel);
      if (c === 1)
        await storage.channels.upsertOverwrite({
          channelId: channel.id,
          id: mods.id,
          type: 0,
          allow: '8192',
          deny: '0',
        });
      channels.push({ id: channel.id, guildId, members });
    }
    await storage.channels.create({ ...general, id: id(), type: 2, name: 'voice', position: 99 });
    const banned = users.filter((u) => !members.includes(u)).slice(0, 2);
    for (const userId of banned)
      await storage.bans.put({
        guildId,
        userId,
        reason: userId === banned[0] ? 'spam' : null,
        createdAt: now,
      });
    for (const userId of banned)
      await storage.auditLog.append({
        guildId,
        id: id(),
        userId: owner,
        targetId: userId,
        actionType: 22, // MEMBER_BAN_ADD
        changes: '[]',
        reason: userId === banned[0] ? 'spam' : null,
        options: null,
        expiresAt: now + 45 * 86_400_000,
      });
    // Custom emoji (their image files are not part of the data set): one animated, one for the mods only.
    await storage.emojis.create({
      guildId,
      id: id(),
      name: 'party_parrot',
      roles: [],
      userId: owner,
      animated: true,
    });
    await storage.emojis.create({
      guildId,
      id: id(),
      name: 'mod_hammer',
      roles: [mods.id],
      userId: null,
      animated: false,
    });
    await storage.invites.create({
      code: `inv${g}${guildId.slice(-6)}`,
      guildId,
      channelId: general.id,
      inviterId: owner,
      maxAge: 0,
      maxUses: 0,
      uses: g,
      createdAt: start,
      expiresAt: null,
    });
    await storage.invites.create({
      code: `exp${g}${guildId.slice(-6)}`,
      guildId,
      channelId: general.id,
      inviterId: owner,
      maxAge: 86400,
      maxUses: 10,
      uses: 0,
      createdAt: now,
      expiresAt: now + 86_400_000,
    });
    const webhookId = id();
    webhooks.set(guildId, { id: webhookId, channelId: general.id });
    await storage.webhooks.create({
      id: webhookId,
      guildId,
      channelId: general.id,
      creatorId: owner,
      name: 'Alerts',
      avatar: null,
      token: `sample${webhookId}`.padEnd(68, 'x'),
    });
    // Moderation (issue 20): one AutoMod keyword rule that blocks, and a member's report of a member.
    await storage.autoModRules.put({
      guildId,
      id: id(),
      creatorId: owner,
      rule: JSON.stringify({
        name: 'No sample spam',
        event_type: 1,
        trigger_type: 1,
        trigger_metadata: { keyword_filter: ['samplespamword'], regex_patterns: [], allow_list: [] },
        actions: [{ type: 1, metadata: {} }],
        enabled: true,
        exempt_roles: [],
        exempt_channels: [],
      }),
    });
    await storage.reports.create({
      id: id(),
      reporterId: members[members.length - 1],
      reason: 'sample report',
      guildId,
      channelId: null,
      messageId: null,
      targetUserId: owner,
    });
  }
  // Per-user rows of the later features: a block and a DM privacy choice (issue 20), a push device and email
  // preference (issue 22), a single sign-on identity (issue 23), and an instance secret.
  if (users.length > 2) {
    await storage.relationships.put({
      userId: users[0],
      targetId: users[users.length - 1],
      type: 2,
      createdAt: now,
    });
    await storage.relationships.putPrivacy({ userId: users[1], dmPolicy: 0, updatedAt: now });
    await storage.push.putSubscription({
      userId: users[0],
      endpointId: `5a3b1e${users[0]}`,
      endpoint: 'https://push.example.invalid/sample',
      p256dh: 'BSamplePublicKey',
      auth: 'sampleauth',
      createdAt: now,
    });
    await storage.notificationPrefs.put({ userId: users[1], emailEnabled: false, updatedAt: now });
    await storage.identities.link({
      provider: 'sample-idp',
      subject: `sub-${users[2]}`,
      userId: users[2],
      email: null,
      createdAt: now,
    });
    await storage.push.putSecretIfAbsent({ name: 'sample_secret', value: '{"sample":true}', createdAt: now });
  }
  for (let d = 0; d < size.dms && users.length > 1; d++) {
    const [a, b] = [users[d % users.length], users[(d * 7 + 1) % users.length]];
    if (a === b) continue;
    const { channel } = await storage.dms.findOrCreate(a, b, {
      id: id(),
      type: 1,
      guildId: null,
      name: null,
      topic: null,
      parentId: null,
      position: 0,
      recipients: [a, b],
      overwrites: [],
    });
    if (!channels.some((c) => c.id === channel.id))
      channels.push({ id: channel.id, guildId: null, members: [a, b] });
  }

  const summary: SampleSummary = {
    users,
    guilds,
    channels: channels.map((c) => c.id),
    messages: 0,
    reactions: 0,
    edited: 0,
  };
  const last = new Map<string, MessageRecord>();
  let batch: Promise<void>[] = [];
  const flush = async () => {
    await Promise.all(batch);
    batch = [];
  };
  for (let i = 0; i < size.messages; i++) {
    clock += step;
    const channel = random.pick(channels);
    const author = random.pick(channel.members);
    const mentioned = random.int(10) === 0 ? random.pick(channel.members) : null;
    const words = Array.from({ length: 3 + random.int(12) }, () => random.pick(WORDS)).join(' ');
    // About one message in twenty replies to the channel's previous one.
    const repliedTo = random.int(20) === 0 ? (last.get(channel.id)?.id ?? null) : null;
    const message: MessageRecord = {
      id: messageIds.next(),
      channelId: channel.id,
      guildId: channel.guildId,
      authorId: author,
      content: mentioned ? `<@${mentioned}> ${words}` : words,
      editedAt: null,
      attachments: [],
      mentions: mentioned ? [mentioned] : [],
      mentionRoles:
        channel.guildId && random.int(50) === 0
          ? [mentionableRoles.get(channel.guildId) ?? channel.guildId]
          : [],
      mentionEveryone: random.int(200) === 0,
      pinned: random.int(100) === 0,
      type: repliedTo ? 19 : 0,
      nonce: random.int(2) === 0 ? String(random.int(1e9)) : null,
      referenceId: repliedTo,
      embeds:
        random.int(40) === 0
          ? [
              {
                type: 'rich',
                title: `Note ${i}`,
                description: words,
                color: 0x3366ff,
                fields: [{ name: 'n', value: String(i) }],
              },
            ]
          : [],
      flags: random.int(80) === 0 ? 4 : 0,
    };
    // Every 97th message in a guild's webhook channel is the webhook's (no random draw: the rest stays as seeded).
    const hook = channel.guildId ? webhooks.get(channel.guildId) : undefined;
    if (hook && hook.channelId === channel.id && i % 97 === 0) {
      message.authorId = hook.id;
      message.webhook = { id: hook.id, name: i % 2 ? 'Grafana' : 'Alerts', avatar: null };
    }
    if (message.pinned)
      await storage.pins.add({ channelId: channel.id, messageId: message.id, pinnedAt: Math.floor(clock) });
    if (random.int(50) === 0) {
      const attachmentId = id();
      await storage.attachments.create({
        id: attachmentId,
        channelId: channel.id,
        uploaderId: author,
        messageId: message.id,
        filename: `photo-${i}.png`,
        size: 1000 + i,
        contentType: 'image/png',
        width: 640,
        height: 480,
        createdAt: Math.floor(clock),
      });
      message.attachments = [
        {
          id: attachmentId,
          filename: `photo-${i}.png`,
          size: 1000 + i,
          contentType: 'image/png',
          width: 640,
          height: 480,
        },
      ];
    }
    batch.push(storage.messages.create(message));
    last.set(channel.id, message);
    summary.messages++;
    if (mentioned && mentioned !== author)
      batch.push(storage.readStates.incrementMentions(channel.id, [mentioned]));
    if (batch.length >= 500) await flush();
    if (random.int(8) === 0) {
      await flush();
      const reactors = Array.from({ length: 1 + random.int(4) }, () => random.pick(channel.members));
      for (const userId of reactors)
        if (await storage.reactions.add(channel.id, message.id, random.pick(EMOJI), userId))
          summary.reactions++;
    }
    if (random.int(12) === 0) {
      await flush();
      await storage.messages.update(channel.id, message.id, {
        content: `${message.content} (edited)`,
        editedAt: Math.floor(clock) + 60_000,
      });
      summary.edited++;
    }
  }
  await flush();
  for (const channel of channels)
    for (const userId of channel.members.slice(0, 3)) {
      const message = last.get(channel.id);
      if (message && random.int(2) === 0) await storage.readStates.ack(userId, channel.id, message.id);
      // Some members tune their notifications: only mentions in this guild, this channel muted for a day.
      if (channel.guildId && random.int(3) === 0)
        await storage.guildSettings.put({
          userId,
          guildId: channel.guildId,
          messageNotifications: 1,
          muted: false,
          muteEndTime: null,
          suppressEveryone: random.int(2) === 0,
          suppressRoles: false,
          channelOverrides: [
            { channelId: channel.id, messageNotifications: 3, muted: true, muteEndTime: now + 86_400_000 },
          ],
          updatedAt: now,
        });
    }
  await storage.jobs.enqueue({
    id: `sample-${id()}`,
    name: 'channel.purge',
    payload: JSON.stringify({ channelId: id() }),
    attempts: 0,
    runAt: now + 3600_000,
    lastError: null,
  });
  return summary;
}
