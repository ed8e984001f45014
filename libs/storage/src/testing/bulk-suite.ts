import { createHash } from 'node:crypto';
import { SnowflakeGenerator } from '@parley/common';
import {
  BULK_TABLES,
  BulkConflict,
  type BulkRecords,
  type BulkStorage,
  type BulkTable,
  type Storage,
} from '../contract';

type WithBulk = Storage & { bulk: BulkStorage };

/**
 * The bulk interface (scans, bulk writes, checkpoints) and the instance settings, run inside the storage
 * contract against every driver. The database is shared with the rest of the suite, so every check looks
 * only at the rows it wrote.
 */
export function describeBulkContract(get: () => Storage): void {
  describe('bulk access (operator tools)', () => {
    const snowflakes = new SnowflakeGenerator(3, 9);
    const id = (): string => snowflakes.next();
    const now = Date.now();
    const bulk = (): BulkStorage => {
      const storage = get() as Partial<WithBulk>;
      if (!storage.bulk) throw new Error('this driver has no bulk access');
      return storage.bulk;
    };
    const storage = (): Storage => get();

    async function scanAll<T extends BulkTable>(table: T, limit: number): Promise<BulkRecords[T][]> {
      const all: BulkRecords[T][] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: { records: BulkRecords[T][]; cursor: string | null } = await bulk().scan(
          table,
          cursor,
          limit,
        );
        all.push(...page.records);
        cursor = page.cursor;
        if (++pages > 100_000) throw new Error('scan does not end');
      } while (cursor !== null);
      return all;
    }

    /** A small community written through bulk.write only, with every table represented. */
    function community() {
      const [alice, bob, carol] = [id(), id(), id()];
      const guildId = id();
      const [text, dm] = [id(), id()];
      const role = id();
      const hook = id();
      const messages = Array.from({ length: 7 }, (_, i) => ({
        id: id(),
        channelId: text,
        guildId,
        authorId: i % 2 ? alice : bob,
        content: `message ${i} for <@${carol}>`,
        editedAt: i === 3 ? now + 1 : null,
        attachments: [],
        mentions: i % 3 === 0 ? [carol] : [],
        mentionRoles: i % 4 === 0 ? [role] : [],
        mentionEveryone: false,
        pinned: i === 5,
        type: i === 4 ? 19 : 0,
        nonce: null,
        referenceId: i === 4 ? id() : null,
        embeds:
          i === 2 ? [{ type: 'rich', title: 'card', fields: [{ name: 'a', value: 'b', inline: true }] }] : [],
        flags: i === 2 ? 4 : 0,
        ...(i === 6 ? { webhook: { id: hook, name: 'Grafana', avatar: 'https://example.test/g.png' } } : {}),
      }));
      const [low, high] = [alice, bob].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
      const records: { [T in BulkTable]: BulkRecords[T][] } = {
        users: [alice, bob, carol].map((u, i) => ({
          id: u,
          username: `Bulk${u}`,
          email: `bulk${u}@example.test`,
          displayName: i === 0 ? 'Alice' : null,
          avatar: null,
          passwordHash: '$argon2id$fake',
          createdAt: now,
          // The second user is a bot application of the first (issue 21's columns are carried too).
          botOwnerId: i === 1 ? alice : null,
          appFlags: i === 1 ? 1 << 18 : 0,
          emailVerified: i !== 1,
          mfaSecret: i === 2 ? 'JBSWY3DPEHPK3PXP' : null,
          mfaBackupCodes: i === 2 ? ['a'.repeat(64), 'b'.repeat(64)] : [],
          // Issue 23's instance flags (migration 0032) are carried too.
          admin: i === 0,
          disabled: i === 1,
          approvalPending: i === 2,
        })),
        tokens: [
          {
            tokenHash: createHash('sha256').update(id()).digest('hex'),
            userId: alice,
            createdAt: now,
            expiresAt: null,
          },
        ],
        guilds: [
          {
            id: guildId,
            name: 'bulk guild',
            icon: null,
            ownerId: alice,
            createdAt: now,
            defaultMessageNotifications: 0,
          },
        ],
        roles: [
          {
            id: guildId,
            guildId,
            name: '@everyone',
            permissions: '104324673',
            color: 0,
            position: 0,
            mentionable: false,
          },
          {
            id: role,
            guildId,
            name: 'mods',
            permissions: '8192',
            color: 255,
            position: 1,
            mentionable: true,
          },
        ],
        members: [alice, bob, carol].map((u) => ({
          guildId,
          userId: u,
          nick: u === bob ? 'bobby' : null,
          roles: u === bob ? [role] : [],
          joinedAt: now,
        })),
        channels: [
          {
            id: text,
            type: 0,
            guildId,
            name: 'general',
            topic: 'a topic',
            parentId: null,
            position: 0,
            recipients: [],
            overwrites: [],
          },
          {
            id: dm,
            type: 1,
            guildId: null,
            name: null,
            topic: null,
            parentId: null,
            position: 0,
            recipients: [alice, bob],
            overwrites: [],
          },
        ],
        overwrites: [{ guildId, channelId: text, id: role, type: 0, allow: '2048', deny: '0' }],
        dm_pairs: [{ userLow: low, userHigh: high, channelId: dm }],
        messages,
        // Higher than every message written: the last message was deleted, its id stays (as on Discord).
        channel_last_messages: [{ channelId: text, lastMessageId: id() }],
        pins: [{ channelId: text, messageId: messages[5].id, pinnedAt: now }],
        reactions: [
          { channelId: text, messageId: messages[0].id, emoji: '👍', userId: alice },
          { channelId: text, messageId: messages[0].id, emoji: '👍', userId: bob },
          { channelId: text, messageId: messages[0].id, emoji: '🎉', userId: carol },
          { channelId: text, messageId: messages[4].id, emoji: '👍', userId: carol },
        ],
        read_states: [
          { userId: alice, channelId: text, lastMessageId: messages[6].id, mentionCount: 0 },
          { userId: carol, channelId: text, lastMessageId: messages[1].id, mentionCount: 2 },
          { userId: bob, channelId: dm, lastMessageId: null, mentionCount: 1 },
        ],
        invites: [
          {
            code: `b${id().slice(-8)}`,
            guildId,
            channelId: text,
            inviterId: alice,
            maxAge: 0,
            maxUses: 5,
            uses: 1,
            createdAt: now,
            expiresAt: null,
          },
        ],
        user_identities: [
          {
            provider: 'idp',
            subject: `sub-${alice}`,
            userId: alice,
            email: 'alice@idp.test',
            createdAt: now,
          },
        ],
        user_guild_settings: [
          {
            userId: alice,
            guildId,
            messageNotifications: 1,
            muted: true,
            muteEndTime: now + 3_600_000,
            suppressEveryone: true,
            suppressRoles: false,
            channelOverrides: [{ channelId: text, messageNotifications: 2, muted: false, muteEndTime: null }],
            updatedAt: now,
          },
        ],
        push_subscriptions: [
          {
            userId: alice,
            endpointId: 'a1b2c3',
            endpoint: 'https://push.example/send/abc',
            p256dh: 'BPublicKey',
            auth: 'authsecret',
            createdAt: now,
          },
        ],
        instance_secrets: [{ name: `vapid_${id()}`, value: '{"k":1}', createdAt: now }],
        notification_preferences: [{ userId: alice, emailEnabled: false, updatedAt: now }],
        bans: [{ guildId, userId: id(), reason: null, createdAt: now }],
        emojis: [
          { guildId, id: id(), name: 'party_parrot', roles: [], userId: alice, animated: true },
          { guildId, id: id(), name: 'mods_only', roles: [role], userId: null, animated: false },
        ],
        webhooks: [
          {
            id: hook,
            guildId,
            channelId: text,
            creatorId: alice,
            name: 'Alerts',
            avatar: null,
            token: 'tok-'.padEnd(68, 'x'),
          },
        ],
        instance_audit_log: [
          {
            id: id(),
            actorId: alice,
            action: 'user.disable',
            targetType: 'user',
            targetId: bob,
            reason: 'spam',
            expiresAt: now + 86_400_000,
          },
        ],
        audit_log_entries: [
          {
            guildId,
            id: id(),
            userId: alice,
            targetId: bob,
            actionType: 22,
            changes: '[]',
            reason: 'spam',
            options: null,
            expiresAt: now + 86_400_000,
          },
          {
            guildId,
            id: id(),
            userId: null,
            targetId: null,
            actionType: 143,
            changes: '[{"key":"name","new_value":"x"}]',
            reason: null,
            options: '{"channel_id":"1"}',
            expiresAt: now + 86_400_000,
          },
        ],
        automod_rules: [
          {
            guildId,
            id: id(),
            creatorId: alice,
            rule: '{"name":"words","event_type":1,"trigger_type":1,"enabled":true}',
          },
        ],
        relationships: [{ userId: bob, targetId: carol, type: 2, createdAt: now }],
        user_privacy: [{ userId: carol, dmPolicy: 0, updatedAt: now }],
        reports: [
          {
            id: id(),
            reporterId: bob,
            reason: 'spam',
            guildId,
            channelId: text,
            messageId: messages[1].id,
            targetUserId: alice,
          },
          {
            id: id(),
            reporterId: carol,
            reason: 'impersonation',
            guildId: null,
            channelId: null,
            messageId: null,
            targetUserId: bob,
          },
        ],
        attachments: [
          {
            id: id(),
            channelId: text,
            uploaderId: alice,
            messageId: messages[2].id,
            filename: 'a.png',
            size: 10,
            contentType: 'image/png',
            width: 2,
            height: 3,
            createdAt: now,
          },
        ],
        jobs: [
          // Far in the future (and dead): the job tests of the suite never claim them.
          {
            id: `bulk-${id()}`,
            name: 'channel.purge',
            payload: '{}',
            attempts: 0,
            runAt: now + 10 ** 12,
            lastError: null,
            dead: false,
          },
          {
            id: `bulk-${id()}`,
            name: 'channel.purge',
            payload: '{}',
            attempts: 3,
            runAt: now,
            lastError: 'boom',
            dead: true,
          },
        ],
      };
      return { records, alice, bob, carol, guildId, text, dm, messages };
    }

    const keyOf = (table: BulkTable, r: Record<string, unknown>): string =>
      table === 'relationships'
        ? `${String(r.userId)}/${String(r.targetId)}`
        : table === 'user_privacy'
          ? String(r.userId)
          : table === 'automod_rules'
            ? `${String(r.guildId)}/${String(r.id)}`
            : keyOfCore(table, r);
    const keyOfCore = (table: BulkTable, r: Record<string, unknown>): string =>
      table === 'channel_last_messages'
        ? String(r.channelId)
        : table === 'pins'
          ? `${String(r.channelId)}/${String(r.messageId)}`
          : table === 'tokens'
            ? String(r.tokenHash)
            : table === 'invites'
              ? String(r.code)
              : table === 'dm_pairs'
                ? `${String(r.userLow)}/${String(r.userHigh)}`
                : table === 'reactions'
                  ? `${String(r.messageId)}/${String(r.emoji)}/${String(r.userId)}`
                  : table === 'read_states'
                    ? `${String(r.userId)}/${String(r.channelId)}`
                    : table === 'push_subscriptions'
                      ? `${String(r.userId)}/${String(r.endpointId)}`
                      : table === 'instance_secrets'
                        ? String(r.name)
                        : table === 'notification_preferences'
                          ? String(r.userId)
                          : table === 'user_guild_settings'
                            ? `${String(r.userId)}/${String(r.guildId)}`
                            : table === 'user_identities'
                              ? `${String(r.provider)}/${String(r.subject)}`
                              : table === 'members' || table === 'bans'
                                ? `${String(r.guildId)}/${String(r.userId)}`
                                : table === 'roles' || table === 'emojis'
                                  ? `${String(r.guildId)}/${String(r.id)}`
                                  : table === 'overwrites'
                                    ? `${String(r.channelId)}/${String(r.id)}`
                                    : String(r.id);

    let data: ReturnType<typeof community>;

    beforeAll(async () => {
      data = community();
      for (const table of BULK_TABLES) {
        const records = data.records[table] as BulkRecords[BulkTable][];
        expect(await bulk().write(table, records)).toEqual([]);
        // Twice: writes are idempotent.
        expect(await bulk().write(table, records)).toEqual([]);
      }
    });

    it.each(BULK_TABLES.map((t) => [t]))(
      'scans %s in small pages: every row once, as written',
      async (table) => {
        const written = data.records[table] as unknown as Record<string, unknown>[];
        const scanned = (await scanAll(table, 2)) as unknown as Record<string, unknown>[];
        const keys = scanned.map((r) => keyOf(table, r));
        expect(new Set(keys).size).toBe(keys.length);
        const byKey = new Map(scanned.map((r) => [keyOf(table, r), r]));
        for (const record of written) {
          const found = byKey.get(keyOf(table, record));
          if (table === 'bans') expect(found).toEqual({ ...record, reason: found?.reason ?? null });
          else if (table === 'members')
            expect({ ...found, roles: [...(found?.roles as string[])].sort() }).toEqual(record);
          else if (table === 'channels')
            expect({ ...found, recipients: [...(found?.recipients as string[])].sort() }).toEqual({
              ...record,
              recipients: [...(record.recipients as string[])].sort(),
            });
          else expect(found).toEqual(record);
        }
      },
    );

    it('writes what the repositories read: claims, indexes, counters', async () => {
      const { alice, bob, carol, guildId, text, dm, messages } = data;
      const s = storage();
      expect((await s.users.findByLogin(`bulk${alice}`))?.id).toBe(alice);
      expect((await s.users.findByLogin(`BULK${bob}@EXAMPLE.TEST`))?.id).toBe(bob);
      expect(await s.members.listGuildIds(carol)).toContain(guildId);
      expect((await s.channels.listByGuild(guildId)).map((c) => [c.id, c.overwrites.length])).toEqual([
        [text, 1],
      ]);
      expect((await s.dms.listForUser(alice, { limit: 100 })).map((c) => c.id)).toEqual([dm]);
      const again = await s.dms.findOrCreate(bob, alice, { ...data.records.channels[1], id: id() });
      expect(again).toMatchObject({ created: false, channel: { id: dm } });
      expect((await s.messages.listLatest(text, 3)).map((m) => m.id)).toEqual(
        messages
          .slice(4)
          .map((m) => m.id)
          .reverse(),
      );
      const counts = await s.reactions.counts(text, [messages[0].id], alice);
      expect(counts.map((c) => [c.emoji, c.count, c.me]).sort()).toEqual([
        ['🎉', 1, false],
        ['👍', 2, true],
      ]);
      const states = await s.readStates.list(carol);
      expect(states.find((r) => r.channelId === text)).toMatchObject({
        mentionCount: 2,
        lastMessageId: messages[1].id,
      });
      expect((await s.readStates.list(bob)).find((r) => r.channelId === dm)).toMatchObject({
        mentionCount: 1,
      });
      expect(await s.invites.find(data.records.invites[0].code)).toEqual(data.records.invites[0]);
    });

    it('channelMessages pages one channel in ascending id order; messageReactions lists one message', async () => {
      const { text, messages } = data;
      const first = await bulk().channelMessages(text, null, 4);
      const rest = await bulk().channelMessages(text, first[first.length - 1].id, 4);
      expect([...first, ...rest]).toEqual(messages);
      const reactions = await bulk().messageReactions(text, messages[0].id);
      expect(reactions.map((r) => `${r.emoji}${r.userId}`).sort()).toEqual(
        data.records.reactions
          .slice(0, 3)
          .map((r) => `${r.emoji}${r.userId}`)
          .sort(),
      );
    });

    it('refuses a record whose claim another record holds, and applies the rest of the call', async () => {
      const { alice } = data;
      const taken = { ...data.records.users[0], id: id() }; // alice's username and email, another id
      const fresh = {
        ...data.records.users[0],
        id: id(),
        username: `Fresh${id()}`,
        email: `fresh${id()}@example.test`,
      };
      const failures = await bulk().write('users', [taken, fresh]);
      expect(failures.map((f) => f.index)).toEqual([0]);
      expect(failures[0].error).toBeInstanceOf(BulkConflict);
      expect((await storage().users.findByLogin(`bulk${alice}`))?.id).toBe(alice);
      expect(await storage().users.findById(taken.id)).toBeNull();
      expect((await storage().users.findByLogin(fresh.username))?.id).toBe(fresh.id);

      const pair = { ...data.records.dm_pairs[0], channelId: id() };
      expect((await bulk().write('dm_pairs', [pair]))[0]?.error).toBeInstanceOf(BulkConflict);
      const invite = { ...data.records.invites[0], guildId: id() };
      expect((await bulk().write('invites', [invite]))[0]?.error).toBeInstanceOf(BulkConflict);
    });

    it('a rewritten user moves its claims; overwrite clears absent values', async () => {
      const user = { ...data.records.users[2], displayName: 'Carol' };
      await bulk().write('users', [user]);
      const renamed = { ...user, username: `Renamed${id()}`, displayName: null };
      expect(await bulk().write('users', [renamed], { overwrite: true })).toEqual([]);
      expect((await storage().users.findByLogin(renamed.username))?.displayName).toBeNull();
      expect(await storage().users.findByLogin(user.username)).toBeNull();
    });

    it('remove deletes rows with what was derived from them', async () => {
      const { text, messages } = data;
      await bulk().remove('messages', [messages[6]]);
      await bulk().remove('reactions', [data.records.reactions[3]]);
      expect((await bulk().channelMessages(text, messages[5].id, 10)).map((m) => m.id)).toEqual([]);
      expect(await storage().reactions.counts(text, [messages[4].id], data.carol)).toEqual([]);
      await bulk().remove('members', [data.records.members[2]]);
      expect(await storage().members.listGuildIds(data.carol)).not.toContain(data.guildId);
    });

    it('scans every table as the repositories wrote it (one mapping per table, both ways)', async () => {
      const s = storage();
      const [owner, guest, guildId, text, dmId, everyone, moderator] = [
        id(),
        id(),
        id(),
        id(),
        id(),
        id(),
        id(),
      ];
      const users = [owner, guest].map((userId, i) => ({
        id: userId,
        username: `Repo${userId}`,
        email: `repo${userId}@example.test`,
        displayName: i === 0 ? 'Owner' : null,
        avatar: i === 0 ? null : 'a1b2',
        passwordHash: 'hash',
        createdAt: now,
        botOwnerId: i === 1 ? owner : null,
        appFlags: i === 1 ? (1 << 14) | (1 << 18) : 0,
        emailVerified: i !== 1,
        mfaSecret: i === 0 ? 'JBSWY3DPEHPK3PXP' : null,
        mfaBackupCodes: i === 0 ? ['c'.repeat(64)] : [],
        admin: i === 0,
        disabled: false,
        approvalPending: i === 1,
      }));
      for (const user of users) await s.users.create(user);
      const token = {
        tokenHash: createHash('sha256').update(id()).digest('hex'),
        userId: owner,
        createdAt: now,
        expiresAt: now + 3_600_000,
      };
      await s.tokens.create(token);
      const guild = {
        id: guildId,
        name: 'repo guild',
        icon: null,
        ownerId: owner,
        createdAt: now,
        defaultMessageNotifications: 0,
      };
      const roles = [
        {
          id: everyone,
          guildId,
          name: '@everyone',
          permissions: '1024',
          color: 0,
          position: 0,
          mentionable: false,
        },
        {
          id: moderator,
          guildId,
          name: 'mods',
          permissions: '8',
          color: 255,
          position: 1,
          mentionable: true,
        },
      ];
      // The community's channels, as new rows of this guild and of these two users.
      const channel = { ...data.records.channels[0], id: text, guildId };
      const members = [
        { guildId, userId: owner, nick: null, roles: [], joinedAt: now },
        { guildId, userId: guest, nick: 'guest', roles: [moderator], joinedAt: now + 1 },
      ];
      await s.guilds.createWithDefaults(guild, roles[0], [channel], members[0]);
      await s.roles.create(roles[1]);
      await s.members.add(members[1]);
      const overwrite = { channelId: text, id: moderator, type: 0 as const, allow: '2048', deny: '0' };
      await s.channels.upsertOverwrite(overwrite);
      const dm = { ...data.records.channels[1], id: dmId, recipients: [owner, guest] };
      expect((await s.dms.findOrCreate(owner, guest, dm)).created).toBe(true);
      const message = {
        id: id(),
        channelId: text,
        guildId,
        authorId: guest,
        content: `hello <@${owner}>`,
        editedAt: null,
        attachments: [
          { id: id(), filename: 'a.txt', size: 3, contentType: 'text/plain', width: null, height: null },
        ],
        mentions: [owner],
        mentionRoles: [moderator],
        mentionEveryone: false,
        pinned: true,
        type: 19,
        nonce: 'n1',
        referenceId: id(),
        embeds: [
          {
            type: 'rich',
            title: 'link',
            url: 'https://example.test/a',
            image: { url: 'https://example.test/a.png', width: 2 },
          },
        ],
        flags: 0,
      };
      await s.messages.create(message);
      await s.pins.add({ channelId: text, messageId: message.id, pinnedAt: 1_700_000_000_000 });
      await s.reactions.add(text, message.id, '👍', owner);
      await s.readStates.ack(guest, text, message.id);
      await s.readStates.incrementMentions(text, [owner]);
      const invite = {
        code: `r${id().slice(-8)}`,
        guildId,
        channelId: text,
        inviterId: owner,
        maxAge: 86_400,
        maxUses: 0,
        uses: 0,
        createdAt: now,
        expiresAt: now + 86_400_000,
      };
      await s.invites.create(invite);
      const ban = { guildId, userId: id(), reason: 'spam', createdAt: now };
      await s.bans.put(ban);
      const emoji = { guildId, id: id(), name: 'blob', roles: [moderator], userId: owner, animated: false };
      await s.emojis.create(emoji);
      const settings = {
        userId: guest,
        guildId,
        messageNotifications: 3 as const,
        muted: false,
        muteEndTime: null,
        suppressEveryone: false,
        suppressRoles: true,
        channelOverrides: [
          { channelId: text, messageNotifications: 1 as const, muted: true, muteEndTime: now },
        ],
        updatedAt: now,
      };
      await s.guildSettings.put(settings);
      const subscription = {
        userId: guest,
        endpointId: 'ffee01',
        endpoint: 'https://push.example/send/guest',
        p256dh: 'BGuestKey',
        auth: 'guestauth',
        createdAt: now,
      };
      await s.push.putSubscription(subscription);
      const secret = { name: `secret_${id()}`, value: 'v', createdAt: now };
      await s.push.putSecretIfAbsent(secret);
      const prefs = { userId: guest, emailEnabled: false, updatedAt: now };
      await s.notificationPrefs.put(prefs);
      const identity = {
        provider: 'idp',
        subject: `sub-${guest}`,
        userId: guest,
        email: null,
        createdAt: now,
      };
      expect(await s.identities.link(identity)).toBe(true);
      const entry = {
        guildId,
        id: id(),
        userId: owner,
        targetId: guest,
        actionType: 20,
        changes: '[]',
        reason: 'rude',
        options: null,
        expiresAt: now + 86_400_000,
      };
      await s.auditLog.append(entry);
      const rule = { guildId, id: id(), creatorId: owner, rule: '{"name":"r","trigger_type":5}' };
      await s.autoModRules.put(rule);
      const block = { userId: guest, targetId: owner, type: 2 as const, createdAt: now };
      await s.relationships.put(block);
      const privacy = { userId: owner, dmPolicy: 2 as const, updatedAt: now };
      await s.relationships.putPrivacy(privacy);
      const report = {
        id: id(),
        reporterId: guest,
        reason: 'spam',
        guildId,
        channelId: text,
        messageId: message.id,
        targetUserId: owner,
      };
      await s.reports.create(report);
      const webhook = {
        id: id(),
        guildId,
        channelId: text,
        creatorId: null,
        name: 'Deploys',
        avatar: 'data:image/png;base64,AAAA',
        token: 'w'.repeat(68),
      };
      await s.webhooks.create(webhook);
      const instanceEntry = {
        id: id(),
        actorId: owner,
        action: 'guild.delete',
        targetType: 'guild' as const,
        targetId: guildId,
        reason: null,
        expiresAt: now + 86_400_000,
      };
      await s.instanceAuditLog.append(instanceEntry);
      const attachment = {
        id: id(),
        channelId: text,
        uploaderId: guest,
        messageId: null,
        filename: 'b.png',
        size: 10,
        contentType: 'image/png',
        width: 4,
        height: 5,
        createdAt: now,
      };
      await s.attachments.create(attachment);
      // Far in the future: the job tests of the suite never claim it.
      const job = {
        id: `repo-${id()}`,
        name: 'channel.purge',
        payload: '{}',
        attempts: 0,
        runAt: now + 10 ** 12,
        lastError: null,
      };
      await s.jobs.enqueue(job);

      const [low, high] = BigInt(owner) < BigInt(guest) ? [owner, guest] : [guest, owner];
      const expected: { [T in BulkTable]: BulkRecords[T][] } = {
        users,
        tokens: [token],
        guilds: [guild],
        roles,
        members,
        channels: [channel, { ...dm, recipients: [low, high] }],
        overwrites: [{ ...overwrite, guildId }],
        dm_pairs: [{ userLow: low, userHigh: high, channelId: dmId }],
        messages: [message],
        channel_last_messages: [{ channelId: text, lastMessageId: message.id }],
        pins: [{ channelId: text, messageId: message.id, pinnedAt: 1_700_000_000_000 }],
        reactions: [{ channelId: text, messageId: message.id, emoji: '👍', userId: owner }],
        read_states: [
          { userId: guest, channelId: text, lastMessageId: message.id, mentionCount: 0 },
          { userId: owner, channelId: text, lastMessageId: null, mentionCount: 1 },
        ],
        invites: [invite],
        user_guild_settings: [settings],
        push_subscriptions: [subscription],
        instance_secrets: [secret],
        notification_preferences: [prefs],
        user_identities: [identity],
        bans: [ban],
        emojis: [emoji],
        webhooks: [webhook],
        audit_log_entries: [entry],
        automod_rules: [rule],
        relationships: [block],
        user_privacy: [privacy],
        reports: [report],
        instance_audit_log: [instanceEntry],
        attachments: [attachment],
        jobs: [{ ...job, dead: false }],
      };
      for (const table of BULK_TABLES) {
        const scanned = (await scanAll(table, 500)) as unknown as Record<string, unknown>[];
        const byKey = new Map(scanned.map((r) => [keyOf(table, r), r]));
        for (const record of expected[table] as unknown as Record<string, unknown>[]) {
          const found = byKey.get(keyOf(table, record));
          const recipients = found?.recipients as string[] | undefined;
          expect([
            table,
            recipients
              ? { ...found, recipients: [...recipients].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1)) }
              : found,
          ]).toEqual([table, record]);
        }
      }
    });

    it('keeps checkpoints per source, and instance settings by key', async () => {
      const source = `test:${id()}`;
      const cp = { table: 'messages' as const, cursor: '["1","2"]', rows: 1200, done: false, updatedAt: now };
      await bulk().checkpoints.save(source, cp);
      await bulk().checkpoints.save(source, { ...cp, rows: 2400 });
      await bulk().checkpoints.save(source, { ...cp, table: 'users', cursor: null, rows: 3, done: true });
      const listed = await bulk().checkpoints.list(source);
      expect(listed.sort((a, b) => a.table.localeCompare(b.table))).toEqual([
        { ...cp, rows: 2400 },
        { table: 'users', cursor: null, rows: 3, done: true, updatedAt: now },
      ]);
      expect(await bulk().checkpoints.list(`test:${id()}`)).toEqual([]);
      await bulk().checkpoints.clear(source);
      expect(await bulk().checkpoints.list(source)).toEqual([]);

      const key = `test_${id()}`;
      expect(await storage().instanceSettings.get(key)).toBeNull();
      await storage().instanceSettings.put(key, '{"enabled":true}');
      await storage().instanceSettings.put(key, '{"enabled":false}');
      expect(await storage().instanceSettings.get(key)).toBe('{"enabled":false}');
      expect(await bulk().settings.get(key)).toBe('{"enabled":false}');
    });
  });
}
