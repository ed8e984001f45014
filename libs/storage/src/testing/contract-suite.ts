import { SnowflakeGenerator, compareSnowflakes, snowflakeEpoch } from '@parley/common';
import {
  UniqueViolation,
  type AccountTokenRecord,
  type BulkStorage,
  type ClaimMismatch,
  type UserIdentityRecord,
  type AttachmentRecord,
  type EmojiRecord,
  type AuditLogEntryRecord,
  type ChannelRecord,
  type GuildRecord,
  type GuildSettingsRecord,
  type LinkPreviewRecord,
  type MemberRecord,
  type MessageRecord,
  type RoleRecord,
  type Storage,
  type UserRecord,
  type InstanceAuditEntryRecord,
} from '../contract';
import { describeBulkContract } from './bulk-suite';
import { messageRecord, textChannelRecord } from './records';
import { describeSearchContract } from './search-suite';

/**
 * The storage contract, written once and run against every driver. It checks behaviour through the
 * repository interfaces only, never a driver's tables. Ids come from SnowflakeGenerator, so they sit
 * far above 2^53 and consecutive ids differ only in bits a JS number would round away.
 */
export function describeStorageContract(
  name: string,
  factory: () => Promise<Storage>,
  teardown: (storage: Storage) => Promise<void> = (storage) => storage.close(),
): void {
  describe(`storage contract: ${name}`, () => {
    let storage: Storage;
    const snowflakes = new SnowflakeGenerator(1, 7);
    const id = (): string => snowflakes.next();
    const ids = (n: number): string[] => Array.from({ length: n }, id);
    // Ids minted near the epoch are a few digits long: mixed with current ids they catch text ordering.
    const early = new SnowflakeGenerator(2, 3, () => snowflakeEpoch() + 1);
    const now = Date.now();
    const sorted = (values: readonly string[]): string[] => [...values].sort(compareSnowflakes);

    const user = (overrides: Partial<UserRecord> = {}): UserRecord => {
      const userId = overrides.id ?? id();
      return {
        id: userId,
        username: `user${userId}`,
        email: `user${userId}@example.test`,
        displayName: null,
        avatar: null,
        passwordHash: '$argon2id$fake',
        createdAt: now,
        botOwnerId: null,
        appFlags: 0,
        emailVerified: true,
        mfaSecret: null,
        mfaBackupCodes: [],
        admin: false,
        disabled: false,
        approvalPending: false,
        ...overrides,
      };
    };
    const guildChannel = (guildId: string, overrides: Partial<ChannelRecord> = {}): ChannelRecord =>
      textChannelRecord({ id: id(), guildId, ...overrides });
    const dmChannel = (a: string, b: string): ChannelRecord => ({
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
    const message = (channelId: string, overrides: Partial<MessageRecord> = {}): MessageRecord =>
      messageRecord({ id: id(), channelId, authorId: '1', ...overrides });
    const member = (guildId: string, userId: string, roles: string[] = []): MemberRecord => ({
      guildId,
      userId,
      nick: null,
      roles,
      joinedAt: now,
    });
    const role = (guildId: string, overrides: Partial<RoleRecord> = {}): RoleRecord => ({
      id: id(),
      guildId,
      name: 'role',
      permissions: '0',
      color: 0,
      position: 1,
      mentionable: false,
      ...overrides,
    });
    /** A guild with its @everyone role, one text channel and the owner as member. */
    const newGuild = async (): Promise<{
      guild: GuildRecord;
      everyone: RoleRecord;
      channel: ChannelRecord;
      ownerId: string;
    }> => {
      const guildId = id();
      const ownerId = id();
      const guild: GuildRecord = {
        id: guildId,
        name: 'guild',
        icon: null,
        ownerId,
        createdAt: now,
        defaultMessageNotifications: 0,
      };
      const everyone = role(guildId, {
        id: guildId,
        name: '@everyone',
        permissions: '104324673',
        position: 0,
      });
      const channel = guildChannel(guildId);
      await storage.guilds.createWithDefaults(guild, everyone, [channel], member(guildId, ownerId));
      return { guild, everyone, channel, ownerId };
    };
    /** Creates messages one after another (ids ascending) and returns them oldest first. */
    const history = async (channelId: string, n: number): Promise<MessageRecord[]> => {
      const messages = ids(n).map((messageId) => message(channelId, { id: messageId }));
      await Promise.all(messages.map((m) => storage.messages.create(m)));
      return messages;
    };
    const idsOf = (records: readonly { id: string }[]): string[] => records.map((r) => r.id);
    const bulkOf = (s: Storage): BulkStorage => {
      const bulk = (s as Partial<{ bulk: BulkStorage }>).bulk;
      if (!bulk) throw new Error('this driver has no bulk access');
      return bulk;
    };

    beforeAll(async () => {
      storage = await factory();
      await storage.migrate();
    });

    afterAll(async () => {
      await teardown(storage);
    });

    describe('lifecycle', () => {
      it('migrate is idempotent and ping answers', async () => {
        expect(await storage.migrate()).toEqual([]);
        await expect(storage.ping()).resolves.toBeUndefined();
        expect(['sqlite', 'cassandra']).toContain(storage.backend);
      });
    });

    describe('users', () => {
      it('stores and finds a user by id without losing precision', async () => {
        const [a, b] = ids(2);
        const alice = user({ id: a, displayName: 'Alice', avatar: 'abc' });
        const bob = user({ id: b });
        await storage.users.create(alice);
        await storage.users.create(bob);
        expect(await storage.users.findById(a)).toEqual(alice);
        expect(await storage.users.findById(b)).toEqual(bob);
        expect(await storage.users.findById(id())).toBeNull();
      });

      it('finds several by id, skipping unknown ones', async () => {
        const [a, b] = [user(), user()];
        await storage.users.create(a);
        await storage.users.create(b);
        const found = await storage.users.findByIds([a.id, id(), b.id]);
        expect(sorted(idsOf(found))).toEqual(sorted([a.id, b.id]));
        expect(await storage.users.findByIds([])).toEqual([]);
      });

      it('finds by username case-insensitively or by email', async () => {
        const u = user({ username: `Mixed${id()}`, email: `mixed${id()}@example.test` });
        await storage.users.create(u);
        expect((await storage.users.findByLogin(u.username.toUpperCase()))?.id).toBe(u.id);
        expect((await storage.users.findByLogin(u.username))?.username).toBe(u.username);
        expect((await storage.users.findByLogin(u.email))?.id).toBe(u.id);
        expect((await storage.users.findByLogin(u.email.toUpperCase()))?.id).toBe(u.id);
        expect(await storage.users.findByLogin(`nobody${id()}`)).toBeNull();
      });

      it('refuses a username taken in another case and a taken email', async () => {
        const u = user({ username: `Taken${id()}` });
        await storage.users.create(u);
        await expect(
          storage.users.create(user({ username: u.username.toLowerCase() })),
        ).rejects.toMatchObject({
          field: 'username',
        });
        await expect(storage.users.create(user({ email: u.email }))).rejects.toBeInstanceOf(UniqueViolation);
        await expect(storage.users.create(user({ email: u.email }))).rejects.toMatchObject({
          field: 'email',
        });
        expect(await storage.users.findByLogin(u.username)).toEqual(u);
      });

      it('updates profile fields, clears nullable ones and re-claims a changed username', async () => {
        const u = user({ displayName: 'Before', avatar: 'a1' });
        const other = user();
        await storage.users.create(u);
        await storage.users.create(other);
        await storage.users.update(u.id, { displayName: null, avatar: 'a2', passwordHash: 'h2' });
        expect(await storage.users.findById(u.id)).toEqual({
          ...u,
          displayName: null,
          avatar: 'a2',
          passwordHash: 'h2',
        });
        // Email verification: an unverified account stays so until a patch confirms it.
        const pending = user({ emailVerified: false });
        await storage.users.create(pending);
        expect((await storage.users.findById(pending.id))?.emailVerified).toBe(false);
        await storage.users.update(pending.id, { emailVerified: true });
        expect(await storage.users.findById(pending.id)).toEqual({ ...pending, emailVerified: true });
        await expect(
          storage.users.update(u.id, { username: other.username.toUpperCase() }),
        ).rejects.toMatchObject({
          field: 'username',
        });
        const renamed = `Renamed${id()}`;
        await storage.users.update(u.id, { username: renamed });
        expect((await storage.users.findByLogin(renamed.toLowerCase()))?.id).toBe(u.id);
        expect(await storage.users.findByLogin(u.username)).toBeNull();
        // The old name is free again.
        await storage.users.create(user({ username: u.username }));
      });

      it('keeps a bot application: its owner and flags, and updates the flags alone', async () => {
        const owner = user();
        const bot = user({ botOwnerId: owner.id, appFlags: (1 << 14) | (1 << 18) });
        await storage.users.create(owner);
        await storage.users.create(bot);
        expect(await storage.users.findById(bot.id)).toEqual(bot);
        expect(await storage.users.findById(owner.id)).toMatchObject({ botOwnerId: null, appFlags: 0 });
        await storage.users.update(bot.id, { appFlags: 1 << 12 });
        expect(await storage.users.findById(bot.id)).toEqual({ ...bot, appFlags: 1 << 12 });
      });

      it("lists an owner's bots (GET /applications), and nothing for people who own none", async () => {
        const owner = user();
        const other = user();
        const first = user({ botOwnerId: owner.id, appFlags: 1 << 18 });
        const second = user({ botOwnerId: owner.id });
        const foreign = user({ botOwnerId: other.id });
        for (const u of [owner, other, first, second, foreign]) await storage.users.create(u);
        const bots = await storage.users.listBots(owner.id);
        expect(bots.map((b) => b.id)).toEqual(
          [first.id, second.id].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1)),
        );
        expect(bots.find((b) => b.id === first.id)).toEqual(first);
        expect((await storage.users.listBots(other.id)).map((b) => b.id)).toEqual([foreign.id]);
        expect(await storage.users.listBots(first.id)).toEqual([]);
      });

      it('sets and clears two-factor authentication and uses up a backup code once, conditionally', async () => {
        const u = user();
        await storage.users.create(u);
        const [a, b] = ['a'.repeat(64), 'b'.repeat(64)];
        expect(await storage.users.setMfa(u.id, null, 'JBSWY3DPEHPK3PXP', [a, b])).toBe(true);
        // A second enable that read "off" loses: the secret is no longer null.
        expect(await storage.users.setMfa(u.id, null, 'KRSXG5CTMVRXEZLU', [a])).toBe(false);
        expect(await storage.users.findById(u.id)).toEqual({
          ...u,
          mfaSecret: 'JBSWY3DPEHPK3PXP',
          mfaBackupCodes: [a, b],
        });
        // Two uses of code a that both read [a, b]: exactly one replaces the list.
        const uses = await Promise.all([
          storage.users.replaceBackupCodes(u.id, [a, b], [b]),
          storage.users.replaceBackupCodes(u.id, [a, b], [b]),
        ]);
        expect(uses.filter(Boolean)).toHaveLength(1);
        expect(await storage.users.replaceBackupCodes(u.id, [b], [])).toBe(true);
        expect((await storage.users.findById(u.id))?.mfaBackupCodes).toEqual([]);
        expect(await storage.users.setMfa(u.id, 'JBSWY3DPEHPK3PXP', null, [])).toBe(true);
        expect(await storage.users.findById(u.id)).toEqual(u);
      });
    });

    describe('instance administration (issue 23)', () => {
      const DAY = 86_400_000;
      /** Every page of a search, followed to the end (a page may be short while the cursor goes on). */
      async function searchAll<T>(
        page: (cursor: string | null) => Promise<{ items: T[]; cursor: string | null }>,
      ): Promise<T[]> {
        const found: T[] = [];
        let cursor: string | null = null;
        for (let i = 0; i < 10_000; i++) {
          const next = await page(cursor);
          found.push(...next.items);
          if (next.cursor === null) return found;
          cursor = next.cursor;
        }
        throw new Error('the search never ended');
      }

      it('sets and clears the admin, disabled and approval flags; the approval queue follows them', async () => {
        const u = user({ approvalPending: true });
        const v = user({ approvalPending: true });
        await storage.users.create(u);
        await storage.users.create(v);
        expect(await storage.users.findById(u.id)).toEqual(u);
        const waiting = await storage.users.listPendingApproval({ limit: 1000 });
        expect(waiting.filter((w) => w.id === u.id || w.id === v.id).map((w) => w.id)).toEqual([v.id, u.id]);
        // Newest first, below `before`.
        const below = await storage.users.listPendingApproval({ limit: 1000, before: v.id });
        expect(below.map((w) => w.id)).toContain(u.id);
        expect(below.map((w) => w.id)).not.toContain(v.id);

        await storage.users.setFlags(u.id, { approvalPending: false, admin: true });
        expect(await storage.users.findById(u.id)).toEqual({ ...u, approvalPending: false, admin: true });
        expect((await storage.users.listPendingApproval({ limit: 1000 })).map((w) => w.id)).not.toContain(
          u.id,
        );
        await storage.users.setFlags(u.id, { disabled: true });
        expect(await storage.users.findById(u.id)).toMatchObject({ admin: true, disabled: true });
        await storage.users.setFlags(u.id, { disabled: false, admin: false });
        expect(await storage.users.findById(u.id)).toEqual({ ...u, approvalPending: false });
        // A flag on an account that does not exist makes none.
        const ghost = id();
        await storage.users.setFlags(ghost, { disabled: true });
        expect(await storage.users.findById(ghost)).toBeNull();
      });

      it('searches accounts by username or email prefix, case-insensitively, through every page', async () => {
        const tag = `srch${id().slice(-8)}`;
        const made = [
          user({ username: `${tag.toUpperCase()}_a` }),
          user({ username: `${tag}_b` }),
          user({ username: 'other', email: `${tag}_c@example.test` }),
        ];
        made[2].username = `other${made[2].id}`;
        for (const u of made) await storage.users.create(u);
        const found = await searchAll((cursor) =>
          storage.users.search(tag, { limit: 2, cursor }).then((p) => ({ items: p.users, cursor: p.cursor })),
        );
        expect(sorted(found.map((u) => u.id))).toEqual(sorted(made.map((u) => u.id)));
        expect(found.find((u) => u.id === made[0].id)).toEqual(made[0]);
        const none = await searchAll((cursor) =>
          storage.users
            .search(`${tag}_zz`, { limit: 5, cursor })
            .then((p) => ({ items: p.users, cursor: p.cursor })),
        );
        expect(none).toEqual([]);
        // A LIKE wildcard in the prefix is a character, not a pattern.
        const wild = await storage.users.search(`${tag}%`, { limit: 5, cursor: null });
        expect(wild.users).toEqual([]);
      });

      it('deletes an account and gives its username and email back', async () => {
        const u = user();
        await storage.users.create(u);
        expect((await storage.users.sampleIds(3)).length).toBeGreaterThan(0);
        await storage.users.delete(u.id);
        expect(await storage.users.findById(u.id)).toBeNull();
        expect(await storage.users.findByLogin(u.username)).toBeNull();
        const again = user({ username: u.username, email: u.email });
        await storage.users.create(again);
        expect(await storage.users.findByLogin(u.email)).toEqual(again);
      });

      it('lists guilds by name prefix through every page', async () => {
        const tag = `gsrch${id().slice(-8)}`;
        const made = [await newGuild(), await newGuild(), await newGuild()];
        for (const [i, g] of made.entries()) await storage.guilds.update(g.guild.id, { name: `${tag} ${i}` });
        const found = await searchAll((cursor) =>
          storage.guilds.search(tag.toUpperCase(), { limit: 2, cursor }).then((p) => ({
            items: p.guilds,
            cursor: p.cursor,
          })),
        );
        expect(sorted(found.map((g) => g.id))).toEqual(sorted(made.map((g) => g.guild.id)));
        expect(found.find((g) => g.id === made[1].guild.id)).toEqual({ ...made[1].guild, name: `${tag} 1` });
      });

      it('claims an instance setting once', async () => {
        const key = `test.claim.${id()}`;
        const claims = await Promise.all([
          storage.instanceSettings.claim(key, 'a'),
          storage.instanceSettings.claim(key, 'b'),
        ]);
        // Both answer the one value that won, whichever it was.
        expect(['a', 'b']).toContain(claims[0]);
        expect(claims[1]).toBe(claims[0]);
        expect(await storage.instanceSettings.get(key)).toBe(claims[0]);
        expect(await storage.instanceSettings.claim(key, 'c')).toBe(claims[0]);
      });

      it('keeps the instance audit log newest first across time windows, in pages, expired entries gone', async () => {
        const at = (daysAgo: number): string =>
          new SnowflakeGenerator(4, 6, () => now - daysAgo * DAY).next();
        const actor = id();
        const entry = (entryId: string, over: Partial<InstanceAuditEntryRecord> = {}) => ({
          id: entryId,
          actorId: actor,
          action: 'user.disable',
          targetType: 'user' as const,
          targetId: id(),
          reason: null,
          expiresAt: now + 100 * DAY,
          ...over,
        });
        const entries = [
          entry(at(70), { reason: 'old' }),
          entry(at(35), { action: 'guild.delete', targetType: 'guild' }),
          entry(at(1)),
          entry(at(0), { action: 'registration.approve', targetType: 'registration' }),
        ];
        for (const e of entries) await storage.instanceAuditLog.append(e);
        // Already expired: not written (or not served).
        await storage.instanceAuditLog.append(entry(at(2), { expiresAt: now - 1 }));
        const mine = (list: InstanceAuditEntryRecord[]) => list.filter((e) => e.actorId === actor);
        const query = { limit: 1000, now, oldest: now - 100 * DAY };
        expect(mine(await storage.instanceAuditLog.list(query))).toEqual([...entries].reverse());
        const below = mine(await storage.instanceAuditLog.list({ ...query, before: entries[2].id }));
        expect(below).toEqual([entries[1], entries[0]]);
        const page = await storage.instanceAuditLog.list({ ...query, limit: 1, before: entries[1].id });
        expect(page).toHaveLength(1);
        expect(BigInt(page[0].id)).toBeLessThan(BigInt(entries[1].id));
        // The retention horizon: nothing older than `oldest` is served.
        const recent = mine(await storage.instanceAuditLog.list({ ...query, oldest: now - 50 * DAY }));
        expect(recent).toEqual([entries[3], entries[2], entries[1]]);
      });

      it('adds to and reads the instance counters (0 for one never added to)', async () => {
        const name = `test${id()}`;
        await storage.instanceCounters.add([
          { name, bucket: 'all', delta: 3 },
          { name, bucket: '2026-12-06', delta: 2 },
        ]);
        await storage.instanceCounters.add([{ name, bucket: 'all', delta: -1 }]);
        expect(
          await storage.instanceCounters.get([
            { name, bucket: 'all' },
            { name, bucket: '2026-12-06' },
            { name, bucket: 'never' },
          ]),
        ).toEqual([2, 2, 0]);
      });
    });

    describe('tokens', () => {
      it('creates, finds, deletes one and deletes all of a user', async () => {
        const userId = id();
        const tokens = ['a', 'b', 'c'].map((suffix, i) => ({
          tokenHash: `${userId}${suffix}`,
          userId,
          createdAt: now,
          expiresAt: i === 0 ? null : now + 1000,
        }));
        const otherUsers = { tokenHash: `${id()}x`, userId: id(), createdAt: now, expiresAt: null };
        for (const token of [...tokens, otherUsers]) await storage.tokens.create(token);
        expect(await storage.tokens.findByHash(tokens[1].tokenHash)).toEqual(tokens[1]);
        expect(await storage.tokens.findByHash('missing')).toBeNull();

        await storage.tokens.delete(tokens[0].tokenHash);
        expect(await storage.tokens.findByHash(tokens[0].tokenHash)).toBeNull();
        expect((await storage.tokens.deleteAllForUser(userId)).sort()).toEqual(
          [tokens[1].tokenHash, tokens[2].tokenHash].sort(),
        );
        expect(await storage.tokens.findByHash(tokens[2].tokenHash)).toBeNull();
        expect(await storage.tokens.findByHash(otherUsers.tokenHash)).toEqual(otherUsers);
        expect(await storage.tokens.deleteAllForUser(userId)).toEqual([]);
      });

      it('lists, extends and revokes hundreds of sessions but one (log out everywhere else)', async () => {
        const userId = id();
        const tokens = Array.from({ length: 600 }, (_, i) => ({
          tokenHash: `${userId}s${String(i).padStart(4, '0')}`,
          userId,
          createdAt: now + i,
          expiresAt: now + 86_400_000,
        }));
        for (const token of tokens) await storage.tokens.create(token);
        expect(await storage.tokens.listForUser(userId)).toEqual(tokens);

        const kept = { ...tokens[7], expiresAt: now + 2 * 86_400_000 };
        await storage.tokens.extend(kept);
        expect(await storage.tokens.findByHash(kept.tokenHash)).toEqual(kept);

        const revoked = await storage.tokens.deleteAllForUser(userId, kept.tokenHash);
        expect(revoked.sort()).toEqual(
          tokens
            .filter((t) => t !== tokens[7])
            .map((t) => t.tokenHash)
            .sort(),
        );
        expect(await storage.tokens.listForUser(userId)).toEqual([kept]);
        expect(await storage.tokens.findByHash(tokens[0].tokenHash)).toBeNull();

        // A token revoked meanwhile is not brought back by a late extension.
        await storage.tokens.extend({ ...tokens[0], expiresAt: now + 3 * 86_400_000 });
        expect(await storage.tokens.findByHash(tokens[0].tokenHash)).toBeNull();
      });
    });

    describe('account tokens (mailed single-use links)', () => {
      const link = (overrides: Partial<AccountTokenRecord> = {}): AccountTokenRecord => ({
        tokenHash: `${id()}link`,
        kind: 'reset_password',
        userId: id(),
        stamp: 'stamp-1',
        expiresAt: Date.now() + 60_000,
        ...overrides,
      });

      it('answers a token once, then never again', async () => {
        const token = link({ kind: 'verify_email', stamp: 'alice@example.test' });
        await storage.accountTokens.create(token);
        expect(await storage.accountTokens.consume(token.tokenHash)).toEqual(token);
        expect(await storage.accountTokens.consume(token.tokenHash)).toBeNull();
        expect(await storage.accountTokens.consume('never-issued')).toBeNull();
      });

      it('answers nothing for an expired token', async () => {
        const token = link({ expiresAt: Date.now() - 1 });
        await storage.accountTokens.create(token);
        expect(await storage.accountTokens.consume(token.tokenHash)).toBeNull();
      });

      it('gives a token to exactly one of many concurrent uses', async () => {
        const token = link();
        await storage.accountTokens.create(token);
        const uses = await Promise.all(
          Array.from({ length: 8 }, () => storage.accountTokens.consume(token.tokenHash)),
        );
        expect(uses.filter((use) => use !== null)).toEqual([token]);
      });
    });

    describe('link previews', () => {
      const preview = (url: string, overrides: Partial<LinkPreviewRecord> = {}): LinkPreviewRecord => ({
        url,
        embed: {
          type: 'article',
          url,
          title: 'A page',
          description: 'What it is about',
          provider: { name: 'Example' },
          thumbnail: { url: `${url}/t.png`, proxy_url: '/media/external/x?hm=y', width: 64, height: 32 },
        },
        fetchedAt: Date.now(),
        expiresAt: Date.now() + 60_000,
        ...overrides,
      });

      it('stores a preview per exact URL and replaces it', async () => {
        const url = `https://example.test/${id()}?q=1`;
        expect(await storage.linkPreviews.find(url)).toBeNull();
        const first = preview(url);
        await storage.linkPreviews.put(first);
        expect(await storage.linkPreviews.find(url)).toEqual(first);
        expect(await storage.linkPreviews.find(`${url}&q=2`)).toBeNull();
        const empty = preview(url, { embed: null });
        await storage.linkPreviews.put(empty);
        expect(await storage.linkPreviews.find(url)).toEqual(empty);
      });

      it('answers nothing for an expired preview', async () => {
        const url = `https://example.test/${id()}`;
        await storage.linkPreviews.put(preview(url, { expiresAt: Date.now() - 1 }));
        expect(await storage.linkPreviews.find(url)).toBeNull();
      });
    });
    describe('personal data exports', () => {
      it('keeps one export per account, replaced whole by the next', async () => {
        const userId = id();
        expect(await storage.dataExports.find(userId)).toBeNull();
        const pending = {
          userId,
          id: id(),
          status: 'pending' as const,
          size: null,
          createdAt: 1_700_000_000_000,
          finishedAt: null,
        };
        await storage.dataExports.put(pending);
        expect(await storage.dataExports.find(userId)).toEqual(pending);
        const ready = { ...pending, status: 'ready' as const, size: 12_345, finishedAt: 1_700_000_001_000 };
        await storage.dataExports.put(ready);
        expect(await storage.dataExports.find(userId)).toEqual(ready);
        const next = { ...pending, id: id(), createdAt: 1_700_000_002_000 };
        await storage.dataExports.put(next);
        expect(await storage.dataExports.find(userId)).toEqual(next);
        await storage.dataExports.delete(userId);
        expect(await storage.dataExports.find(userId)).toBeNull();
      });
    });

    describe('single sign-on identities', () => {
      const identity = (userId: string, overrides: Partial<UserIdentityRecord> = {}): UserIdentityRecord => ({
        provider: 'idp',
        subject: `sub-${id()}`,
        userId,
        email: 'someone@idp.test',
        createdAt: 1_700_000_000_000,
        ...overrides,
      });

      it('links an identity to one account, found by identity and by account', async () => {
        const userId = id();
        const first = identity(userId);
        const second = identity(userId, { provider: 'other', email: null });
        expect(await storage.identities.link(first)).toBe(true);
        expect(await storage.identities.link(second)).toBe(true);
        expect(await storage.identities.find('idp', first.subject)).toEqual(first);
        expect(await storage.identities.find('other', first.subject)).toBeNull();
        const listed = await storage.identities.listForUser(userId);
        expect(listed.sort((a, b) => a.provider.localeCompare(b.provider))).toEqual([first, second]);
        expect(await storage.identities.listForUser(id())).toEqual([]);
      });

      it('refuses a second link of an identity, to another account or concurrently', async () => {
        const taken = identity(id());
        expect(await storage.identities.link(taken)).toBe(true);
        const thief = id();
        expect(await storage.identities.link({ ...taken, userId: thief })).toBe(false);
        expect(await storage.identities.find('idp', taken.subject)).toEqual(taken);
        expect(await storage.identities.listForUser(thief)).toEqual([]);

        const contested = identity(id());
        const claimants = Array.from({ length: 6 }, () => id());
        const results = await Promise.all(
          claimants.map((userId) => storage.identities.link({ ...contested, userId })),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = claimants[results.indexOf(true)];
        expect((await storage.identities.find('idp', contested.subject))?.userId).toBe(winner);
      });

      it('unlinks every identity of a deleted account', async () => {
        const userId = id();
        const kept = identity(id());
        const links = [identity(userId), identity(userId, { provider: 'other' })];
        for (const link of [...links, kept]) expect(await storage.identities.link(link)).toBe(true);
        await storage.identities.deleteForUser(userId);
        expect(await storage.identities.listForUser(userId)).toEqual([]);
        for (const link of links)
          expect(await storage.identities.find(link.provider, link.subject)).toBeNull();
        expect(await storage.identities.find('idp', kept.subject)).toEqual(kept);
        // The identity can then log in to a new account.
        expect(await storage.identities.link({ ...links[0], userId: id() })).toBe(true);
      });
    });

    describe('guilds', () => {
      it('creates the guild with its @everyone role, channels and owner together', async () => {
        const { guild, everyone, channel, ownerId } = await newGuild();
        expect(await storage.guilds.findById(guild.id)).toEqual(guild);
        expect(await storage.roles.find(guild.id, guild.id)).toEqual(everyone);
        expect(await storage.channels.listByGuild(guild.id)).toEqual([channel]);
        expect(await storage.members.find(guild.id, ownerId)).toEqual(member(guild.id, ownerId));
        expect(await storage.members.listGuildIds(ownerId)).toEqual([guild.id]);
      });

      it('finds several, updates and ignores unknown ids', async () => {
        const [a, b] = [await newGuild(), await newGuild()];
        expect(sorted(idsOf(await storage.guilds.findByIds([a.guild.id, id(), b.guild.id])))).toEqual(
          sorted([a.guild.id, b.guild.id]),
        );
        const newOwner = id();
        await storage.guilds.update(a.guild.id, { name: 'renamed', icon: 'icon1', ownerId: newOwner });
        expect(await storage.guilds.findById(a.guild.id)).toEqual({
          ...a.guild,
          name: 'renamed',
          icon: 'icon1',
          ownerId: newOwner,
        });
        await storage.guilds.update(a.guild.id, { icon: null });
        expect((await storage.guilds.findById(a.guild.id))?.icon).toBeNull();
        await storage.guilds.update(a.guild.id, { defaultMessageNotifications: 1 });
        expect((await storage.guilds.findById(a.guild.id))?.defaultMessageNotifications).toBe(1);
        expect(await storage.guilds.findById(id())).toBeNull();
      });

      it('delete removes roles, channels, overwrites, members, invites and bans but leaves messages to the job', async () => {
        const { guild, channel, ownerId } = await newGuild();
        const keep = await newGuild();
        const extraRole = role(guild.id);
        await storage.roles.create(extraRole);
        await storage.channels.upsertOverwrite({
          channelId: channel.id,
          id: extraRole.id,
          type: 0,
          allow: '1024',
          deny: '0',
        });
        const invite = {
          code: `c${id()}`,
          guildId: guild.id,
          channelId: channel.id,
          inviterId: ownerId,
          maxAge: 0,
          maxUses: 0,
          uses: 0,
          createdAt: now,
          expiresAt: null,
        };
        await storage.invites.create(invite);
        await storage.bans.put({ guildId: guild.id, userId: id(), reason: null, createdAt: now });
        await storage.emojis.create({
          guildId: guild.id,
          id: id(),
          name: 'gone',
          roles: [],
          userId: ownerId,
          animated: false,
        });
        const [m] = await history(channel.id, 1);

        // The request's part: the guild is gone for readers, what it held waits for the job.
        await storage.guilds.removeRecord(guild.id);
        expect(await storage.guilds.findById(guild.id)).toBeNull();
        expect(await storage.members.find(guild.id, ownerId)).not.toBeNull();
        // The job's part, twice (a retried job).
        await storage.guilds.delete(guild.id);
        await storage.guilds.delete(guild.id);

        expect(await storage.guilds.findById(guild.id)).toBeNull();
        expect(await storage.roles.list(guild.id)).toEqual([]);
        expect(await storage.channels.findById(channel.id)).toBeNull();
        expect(await storage.channels.listByGuild(guild.id)).toEqual([]);
        expect(await storage.members.find(guild.id, ownerId)).toBeNull();
        expect(await storage.members.count(guild.id)).toBe(0);
        expect(await storage.members.listGuildIds(ownerId)).toEqual([]);
        expect(await storage.invites.find(invite.code)).toBeNull();
        expect(await storage.bans.list(guild.id, { limit: 10 })).toEqual([]);
        expect(await storage.emojis.list(guild.id)).toEqual([]);
        expect(await storage.messages.find(channel.id, m.id)).toEqual(m);
        // Another guild is untouched.
        expect(await storage.guilds.findById(keep.guild.id)).toEqual(keep.guild);
        expect(await storage.channels.listByGuild(keep.guild.id)).toEqual([keep.channel]);
      });
    });

    describe('members', () => {
      it('adds, finds, updates, counts and removes', async () => {
        const { guild, ownerId } = await newGuild();
        const userId = id();
        const [r1, r2] = ids(2);
        await storage.members.add(member(guild.id, userId, [r1]));
        expect(await storage.members.find(guild.id, userId)).toEqual(member(guild.id, userId, [r1]));
        expect(await storage.members.count(guild.id)).toBe(2);

        await storage.members.update(guild.id, userId, { nick: 'nick' });
        expect(await storage.members.find(guild.id, userId)).toEqual({
          ...member(guild.id, userId, [r1]),
          nick: 'nick',
        });
        await storage.members.update(guild.id, userId, { roles: [r1, r2] });
        expect((await storage.members.find(guild.id, userId))?.roles).toEqual([r1, r2]);
        await storage.members.update(guild.id, userId, { nick: null, roles: [] });
        expect(await storage.members.find(guild.id, userId)).toEqual(member(guild.id, userId));

        // A timeout is kept to the millisecond, beside the other fields, and lifted with null.
        const until = now + 60_000;
        await storage.members.update(guild.id, userId, { communicationDisabledUntil: until });
        expect(await storage.members.find(guild.id, userId)).toEqual({
          ...member(guild.id, userId),
          communicationDisabledUntil: until,
        });
        expect(
          (await storage.members.list(guild.id, { limit: 10 })).find((m) => m.userId === userId),
        ).toEqual({
          ...member(guild.id, userId),
          communicationDisabledUntil: until,
        });
        await storage.members.update(guild.id, userId, { communicationDisabledUntil: null });
        expect(await storage.members.find(guild.id, userId)).toEqual(member(guild.id, userId));

        await storage.members.remove(guild.id, userId);
        expect(await storage.members.find(guild.id, userId)).toBeNull();
        expect(await storage.members.count(guild.id)).toBe(1);
        expect(await storage.members.find(guild.id, ownerId)).not.toBeNull();
      });

      it('keeps the member count: the same join and the same leave racing count once, a rejoin not at all', async () => {
        const { guild } = await newGuild();
        const count = (): Promise<number> => storage.members.count(guild.id);
        expect(await count()).toBe(1); // the owner
        const users = ids(5);
        await Promise.all(
          [...users, ...users].map((userId) => storage.members.add(member(guild.id, userId))),
        );
        expect(await count()).toBe(6);
        const leaving = users.slice(0, 3);
        await Promise.all([...leaving, ...leaving].map((userId) => storage.members.remove(guild.id, userId)));
        expect(await count()).toBe(3);
        await storage.members.remove(guild.id, leaving[0]);
        expect(await count()).toBe(3);
        // A rejoin over a stored member rewrites its fields without counting it twice.
        await storage.members.add({ ...member(guild.id, users[4]), nick: 'again' });
        expect(await count()).toBe(3);
        expect((await storage.members.find(guild.id, users[4]))?.nick).toBe('again');
        await storage.members.add(member(guild.id, leaving[0]));
        expect(await count()).toBe(4);
        expect(await storage.members.count(id())).toBe(0);
      });

      it('finds many members of one guild at once, leaving out non-members and other guilds', async () => {
        const { guild, ownerId } = await newGuild();
        const other = await newGuild();
        const [a, b, outsider] = ids(3);
        const r1 = id();
        await storage.members.add(member(guild.id, a, [r1]));
        await storage.members.add(member(guild.id, b));
        await storage.members.add(member(other.guild.id, outsider));
        const found = await storage.members.findMany(guild.id, [a, outsider, b, a, id(), ownerId]);
        expect(found.sort((x, y) => (BigInt(x.userId) < BigInt(y.userId) ? -1 : 1))).toEqual(
          sorted([a, b, ownerId]).map((userId) =>
            userId === a ? member(guild.id, a, [r1]) : member(guild.id, userId),
          ),
        );
        expect(await storage.members.findMany(guild.id, [])).toEqual([]);
        expect(await storage.members.findMany(guild.id, [outsider])).toEqual([]);
      });

      it('lists in numeric user id order, page by page', async () => {
        const { guild, ownerId } = await newGuild();
        const userIds = [early.next(), id(), early.next(), id(), id()];
        for (const userId of userIds) await storage.members.add(member(guild.id, userId));
        const all = sorted([...userIds, ownerId]);

        const first = await storage.members.list(guild.id, { limit: 4 });
        expect(first.map((m) => m.userId)).toEqual(all.slice(0, 4));
        const second = await storage.members.list(guild.id, { limit: 4, after: first[3].userId });
        expect(second.map((m) => m.userId)).toEqual(all.slice(4));
        expect(await storage.members.list(guild.id, { limit: 4, after: all[5] })).toEqual([]);
        expect(first[0]).toEqual(member(guild.id, all[0]));
      });

      it('samples members: all of a guild within the limit, at most the limit of a larger one', async () => {
        const { guild, ownerId } = await newGuild();
        const userIds = Array.from({ length: 40 }, () => id());
        await Promise.all(userIds.map((userId) => storage.members.add(member(guild.id, userId))));
        await storage.members.remove(guild.id, userIds[0]);
        const current = sorted([...userIds.slice(1), ownerId]);
        const all = await storage.members.sample(guild.id, 100);
        expect(sorted(all.map((m) => m.userId))).toEqual(current);
        expect(all.find((m) => m.userId === userIds[1])).toEqual(member(guild.id, userIds[1]));
        const some = (await storage.members.sample(guild.id, 10)).map((m) => m.userId);
        expect(some).toHaveLength(10);
        expect(new Set(some).size).toBe(10);
        for (const userId of some) expect(current).toContain(userId);
      });

      it('pages a larger guild in numeric user id order for every limit and cursor', async () => {
        const { guild, ownerId } = await newGuild();
        // Enough members to fill every Cassandra shard several times over, short ids mixed in.
        const userIds = Array.from({ length: 150 }, (_, i) => (i % 5 === 0 ? early.next() : id()));
        for (let i = 0; i < userIds.length; i += 50)
          await Promise.all(
            userIds.slice(i, i + 50).map((userId) => storage.members.add(member(guild.id, userId))),
          );
        const all = sorted([...userIds, ownerId]);
        const walk = async (limit: number, maxPages: number): Promise<string[]> => {
          const seen: string[] = [];
          let after: string | undefined;
          for (let pages = 0; pages < maxPages; pages++) {
            const page = await storage.members.list(guild.id, { limit, after });
            expect(page.length).toBeLessThanOrEqual(limit);
            seen.push(...page.map((m) => m.userId));
            if (page.length < limit) return seen;
            after = page[page.length - 1].userId;
          }
          return seen;
        };
        expect(await walk(1, 12)).toEqual(all.slice(0, 12));
        expect(await walk(7, 40)).toEqual(all);
        expect(await walk(50, 10)).toEqual(all);
        expect(await walk(1000, 2)).toEqual(all);
        // A cursor that is no member's id starts after it; the last member's id ends the list.
        const gap = all.findIndex((u, i) => i >= 30 && BigInt(all[i + 1]) - BigInt(u) > 1n);
        const between = (BigInt(all[gap]) + 1n).toString();
        expect(
          (await storage.members.list(guild.id, { limit: 5, after: between })).map((m) => m.userId),
        ).toEqual(all.slice(gap + 1, gap + 6));
        expect(await storage.members.list(guild.id, { limit: 5, after: all[all.length - 1] })).toEqual([]);
        expect((await storage.members.list(guild.id, { limit: 3, after: '1' })).map((m) => m.userId)).toEqual(
          all.slice(0, 3),
        );
        // Leavers drop out of the pages at once.
        const leaving = all.filter((u) => u !== ownerId).filter((_, i) => i % 4 === 0);
        await Promise.all(leaving.map((u) => storage.members.remove(guild.id, u)));
        const left = new Set(leaving);
        expect(await walk(9, 30)).toEqual(all.filter((u) => !left.has(u)));
        expect(await storage.members.count(guild.id)).toBe(all.length - leaving.length);
      });

      it('lists the guilds of a user', async () => {
        const userId = id();
        const [a, b, c] = [await newGuild(), await newGuild(), await newGuild()];
        await storage.members.add(member(a.guild.id, userId));
        await storage.members.add(member(c.guild.id, userId));
        expect(sorted(await storage.members.listGuildIds(userId))).toEqual(sorted([a.guild.id, c.guild.id]));
        expect(await storage.members.listGuildIds(b.ownerId)).toEqual([b.guild.id]);
        expect(await storage.members.listGuildIds(id())).toEqual([]);
      });
    });

    describe('roles', () => {
      it('creates, finds, lists and updates', async () => {
        const { guild, everyone } = await newGuild();
        const mod = role(guild.id, { name: 'mod', permissions: '8', color: 0xff0000, position: 2 });
        await storage.roles.create(mod);
        expect(await storage.roles.find(guild.id, mod.id)).toEqual(mod);
        expect(await storage.roles.find(guild.id, id())).toBeNull();
        const listed = await storage.roles.list(guild.id);
        expect(sorted(idsOf(listed))).toEqual(sorted([everyone.id, mod.id]));

        // Permission bit sets may exceed 64 bits.
        const wide = (1n << 70n).toString();
        await storage.roles.update(guild.id, mod.id, { name: 'moderator', permissions: wide, position: 3 });
        expect(await storage.roles.find(guild.id, mod.id)).toEqual({
          ...mod,
          name: 'moderator',
          permissions: wide,
          position: 3,
        });
      });

      it('keeps mentionable, and changes it alone', async () => {
        const { guild } = await newGuild();
        const pingable = role(guild.id, { mentionable: true });
        await storage.roles.create(pingable);
        expect(await storage.roles.find(guild.id, pingable.id)).toEqual(pingable);
        await storage.roles.update(guild.id, pingable.id, { mentionable: false });
        expect(await storage.roles.find(guild.id, pingable.id)).toEqual({ ...pingable, mentionable: false });
        expect((await storage.roles.list(guild.id)).find((r) => r.id === guild.id)?.mentionable).toBe(false);
      });

      it('takes a deleted role off many members, page by page', async () => {
        const { guild } = await newGuild();
        const [doomed, kept] = [role(guild.id), role(guild.id)];
        await storage.roles.create(doomed);
        await storage.roles.create(kept);
        // More members than one page of either driver (SQLite 2,000, Cassandra 1,000).
        const users = ids(2_300);
        for (let i = 0; i < users.length; i += 100)
          await Promise.all(
            users
              .slice(i, i + 100)
              .map((u, k) =>
                storage.members.add(
                  member(guild.id, u, (i + k) % 3 === 0 ? [kept.id] : [doomed.id, kept.id]),
                ),
              ),
          );
        await storage.roles.delete(guild.id, doomed.id);
        await storage.roles.removeFromMembers(guild.id, doomed.id);
        const seen: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await storage.members.list(guild.id, { limit: 1000, after });
          if (page.length === 0) break;
          for (const m of page) if (m.userId !== guild.ownerId) expect(m.roles).toEqual([kept.id]);
          seen.push(...page.map((m) => m.userId));
          after = page[page.length - 1].userId;
        }
        expect(seen).toEqual(expect.arrayContaining(users));
      });

      it('role deletion reaches exactly its holders after joins, role changes, leaves, bans and rejoins', async () => {
        const { guild } = await newGuild();
        const other = await newGuild();
        const [doomed, kept] = [role(guild.id), role(guild.id)];
        await storage.roles.create(doomed);
        await storage.roles.create(kept);
        const [joined, granted, gaveUp, left, banned, rejoinedWith, rejoinedWithout, untouched] = ids(8);
        await storage.members.add(member(guild.id, joined, [doomed.id]));
        await storage.members.add(member(guild.id, granted));
        await storage.members.update(guild.id, granted, { roles: [doomed.id, kept.id] });
        await storage.members.add(member(guild.id, gaveUp, [doomed.id, kept.id]));
        await storage.members.update(guild.id, gaveUp, { roles: [kept.id] });
        await storage.members.add(member(guild.id, left, [doomed.id]));
        await storage.members.remove(guild.id, left);
        await storage.members.add(member(guild.id, left)); // back, without the role
        await storage.members.add(member(guild.id, banned, [doomed.id]));
        await storage.bans.put({ guildId: guild.id, userId: banned, reason: null, createdAt: now });
        await storage.members.remove(guild.id, banned);
        await storage.members.add(member(guild.id, rejoinedWith));
        await storage.members.add(member(guild.id, rejoinedWith, [kept.id, doomed.id])); // a rewrite adds it
        await storage.members.add(member(guild.id, rejoinedWithout, [doomed.id]));
        await storage.members.add(member(guild.id, rejoinedWithout, [kept.id])); // a rewrite drops it
        await storage.members.add(member(guild.id, untouched, [kept.id]));
        const rewrittenEmpty = id();
        await storage.members.add(member(guild.id, rewrittenEmpty, [doomed.id]));
        await storage.members.add(member(guild.id, rewrittenEmpty)); // a rewrite with no roles holds none
        expect((await storage.members.find(guild.id, rewrittenEmpty))?.roles).toEqual([]);
        // Holders spread over every shard, given the role by an update.
        const many = ids(40);
        await Promise.all(many.map((u) => storage.members.add(member(guild.id, u))));
        await Promise.all(many.map((u) => storage.members.update(guild.id, u, { roles: [doomed.id] })));
        // The same role id held in another guild is another guild's business.
        await storage.members.add(member(other.guild.id, joined, [doomed.id]));

        await storage.roles.delete(guild.id, doomed.id);
        await storage.roles.removeFromMembers(guild.id, doomed.id);
        await storage.roles.removeFromMembers(guild.id, doomed.id); // a retried job
        const rolesOf = async (userId: string, guildId = guild.id) =>
          (await storage.members.find(guildId, userId))?.roles ?? null;
        expect(await rolesOf(joined)).toEqual([]);
        expect(await rolesOf(granted)).toEqual([kept.id]);
        expect(await rolesOf(gaveUp)).toEqual([kept.id]);
        expect(await rolesOf(left)).toEqual([]);
        expect(await rolesOf(banned)).toBeNull();
        expect(await rolesOf(rejoinedWith)).toEqual([kept.id]);
        expect(await rolesOf(rejoinedWithout)).toEqual([kept.id]);
        expect(await rolesOf(untouched)).toEqual([kept.id]);
        expect(await rolesOf(rewrittenEmpty)).toEqual([]);
        for (const u of many) expect(await rolesOf(u)).toEqual([]);
        expect(await rolesOf(joined, other.guild.id)).toEqual([doomed.id]);

        // A role deleted with no holders: nothing to take off anyone.
        const empty = role(guild.id);
        await storage.roles.create(empty);
        await storage.roles.delete(guild.id, empty.id);
        await storage.roles.removeFromMembers(guild.id, empty.id);
        expect(await rolesOf(untouched)).toEqual([kept.id]);
      });

      it('delete strips the role from members and channel overwrites', async () => {
        const { guild, channel } = await newGuild();
        const [doomed, kept] = [role(guild.id), role(guild.id)];
        await storage.roles.create(doomed);
        await storage.roles.create(kept);
        const [u1, u2, u3] = ids(3);
        await storage.members.add(member(guild.id, u1, [doomed.id, kept.id]));
        await storage.members.add(member(guild.id, u2, [doomed.id]));
        await storage.members.add(member(guild.id, u3, [kept.id]));
        const keptOverwrite = { channelId: channel.id, id: kept.id, type: 0 as const, allow: '1', deny: '2' };
        const memberOverwrite = { channelId: channel.id, id: u1, type: 1 as const, allow: '4', deny: '0' };
        await storage.channels.upsertOverwrite({
          channelId: channel.id,
          id: doomed.id,
          type: 0,
          allow: '1024',
          deny: '0',
        });
        await storage.channels.upsertOverwrite(keptOverwrite);
        await storage.channels.upsertOverwrite(memberOverwrite);
        // The same role held in another guild is not touched.
        const other = await newGuild();
        await storage.members.add(member(other.guild.id, u1, [doomed.id]));

        await storage.roles.delete(guild.id, doomed.id);

        expect(await storage.roles.find(guild.id, doomed.id)).toBeNull();
        expect(await storage.roles.find(guild.id, kept.id)).toEqual(kept);
        // The members' part is the job's: twice, as a retried job would.
        await storage.roles.removeFromMembers(guild.id, doomed.id);
        await storage.roles.removeFromMembers(guild.id, doomed.id);
        expect((await storage.members.find(guild.id, u1))?.roles).toEqual([kept.id]);
        expect((await storage.members.find(guild.id, u2))?.roles).toEqual([]);
        expect((await storage.members.find(guild.id, u3))?.roles).toEqual([kept.id]);
        expect((await storage.members.find(other.guild.id, u1))?.roles).toEqual([doomed.id]);
        const overwrites = (await storage.channels.findById(channel.id))?.overwrites ?? [];
        expect(overwrites.sort((a, b) => compareSnowflakes(a.id, b.id))).toEqual(
          [keptOverwrite, memberOverwrite].sort((a, b) => compareSnowflakes(a.id, b.id)),
        );
      });
    });

    describe('channels', () => {
      it('creates with overwrites and finds it by id and by guild', async () => {
        const { guild, channel: general } = await newGuild();
        const category = guildChannel(guild.id, { type: 4, name: 'cat', position: 1 });
        const channelId = id();
        const roleId = id();
        const text = guildChannel(guild.id, {
          id: channelId,
          name: 'text',
          topic: 'about',
          parentId: category.id,
          position: 2,
          overwrites: [{ channelId, id: roleId, type: 0, allow: '1024', deny: '2048' }],
        });
        await storage.channels.create(category);
        await storage.channels.create(text);
        expect(await storage.channels.findById(text.id)).toEqual(text);
        expect(await storage.channels.findById(id())).toBeNull();
        const listed = await storage.channels.listByGuild(guild.id);
        expect(listed.sort((a, b) => compareSnowflakes(a.id, b.id))).toEqual([general, category, text]);
      });

      it('updates fields and clears nullable ones', async () => {
        const { guild } = await newGuild();
        const parentId = id();
        const channel = guildChannel(guild.id, { topic: 'old', parentId });
        await storage.channels.create(channel);
        await storage.channels.update(channel.id, {
          name: 'renamed',
          topic: null,
          parentId: null,
          position: 5,
        });
        expect(await storage.channels.findById(channel.id)).toEqual({
          ...channel,
          name: 'renamed',
          topic: null,
          parentId: null,
          position: 5,
        });
        await storage.channels.update(channel.id, { parentId });
        expect((await storage.channels.findById(channel.id))?.parentId).toBe(parentId);
      });

      it('shows a write at once to the next read, through any hot-read cache (issue 17 item 9)', async () => {
        const { guild } = await newGuild();
        const channel = guildChannel(guild.id, { name: 'before' });
        await storage.channels.create(channel);
        // Concurrent identical reads (coalesced where the driver does) all answer, then fill any cache.
        const reads = await Promise.all(
          Array.from({ length: 5 }, () => storage.channels.findById(channel.id)),
        );
        for (const read of reads) expect(read).toEqual(channel);
        await storage.channels.update(channel.id, { name: 'after' });
        expect((await storage.channels.findById(channel.id))?.name).toBe('after');
        const overwrite = { channelId: channel.id, id: id(), type: 0 as const, allow: '1024', deny: '0' };
        await storage.channels.upsertOverwrite(overwrite);
        expect((await storage.channels.findById(channel.id))?.overwrites).toEqual([overwrite]);
        await storage.channels.deleteOverwrite(channel.id, overwrite.id);
        expect((await storage.channels.findById(channel.id))?.overwrites).toEqual([]);
        await storage.channels.delete(channel.id);
        expect(await storage.channels.findById(channel.id)).toBeNull();

        // Message authors.
        const author = user();
        await storage.users.create(author);
        expect((await storage.users.findByIds([author.id]))[0]?.displayName).toBeNull();
        await storage.users.update(author.id, { displayName: 'Renamed', avatar: 'abc' });
        expect((await storage.users.findByIds([author.id]))[0]).toMatchObject({
          displayName: 'Renamed',
          avatar: 'abc',
        });
        await storage.users.delete(author.id);
        expect(await storage.users.findByIds([author.id])).toEqual([]);

        // A bucket list read before a message lands in a new bucket: the message is on the next page.
        const quiet = guildChannel(guild.id);
        await storage.channels.create(quiet);
        const old = message(quiet.id, { id: early.next() });
        await storage.messages.create(old);
        expect((await storage.messages.listLatest(quiet.id, 10)).map((m) => m.id)).toEqual([old.id]);
        const fresh = message(quiet.id);
        await storage.messages.create(fresh);
        expect((await storage.messages.listLatest(quiet.id, 10)).map((m) => m.id)).toEqual([
          fresh.id,
          old.id,
        ]);
        expect((await storage.messages.listAfter(quiet.id, old.id, 10)).map((m) => m.id)).toEqual([fresh.id]);
      });

      it('keeps slowmode (rate_limit_per_user) by id and by guild, and clears it with 0', async () => {
        const { guild } = await newGuild();
        const slow = guildChannel(guild.id, { rateLimitPerUser: 30 });
        await storage.channels.create(slow);
        expect(await storage.channels.findById(slow.id)).toEqual(slow);
        await storage.channels.update(slow.id, { rateLimitPerUser: 21_600 });
        expect((await storage.channels.findById(slow.id))?.rateLimitPerUser).toBe(21_600);
        const listed = (await storage.channels.listByGuild(guild.id)).find((c) => c.id === slow.id);
        expect(listed?.rateLimitPerUser).toBe(21_600);
        await storage.channels.update(slow.id, { rateLimitPerUser: 0, name: 'calm' });
        const { rateLimitPerUser: _, ...plain } = slow;
        expect(await storage.channels.findById(slow.id)).toEqual({ ...plain, name: 'calm' });
      });

      it('upserts and deletes overwrites', async () => {
        const { channel } = await newGuild();
        const overwrite = { channelId: channel.id, id: id(), type: 1 as const, allow: '1', deny: '0' };
        await storage.channels.upsertOverwrite(overwrite);
        expect((await storage.channels.findById(channel.id))?.overwrites).toEqual([overwrite]);
        await storage.channels.upsertOverwrite({ ...overwrite, allow: '3', deny: '4' });
        expect((await storage.channels.findById(channel.id))?.overwrites).toEqual([
          { ...overwrite, allow: '3', deny: '4' },
        ]);
        await storage.channels.deleteOverwrite(channel.id, overwrite.id);
        expect((await storage.channels.findById(channel.id))?.overwrites).toEqual([]);
      });

      it('deletes a channel', async () => {
        const { guild, channel } = await newGuild();
        await storage.channels.upsertOverwrite({
          channelId: channel.id,
          id: id(),
          type: 0,
          allow: '1',
          deny: '0',
        });
        await storage.channels.delete(channel.id);
        expect(await storage.channels.findById(channel.id)).toBeNull();
        expect(await storage.channels.listByGuild(guild.id)).toEqual([]);
      });
    });

    describe('direct messages', () => {
      it('creates the pair channel once, whichever way round it is asked', async () => {
        const [a, b] = ids(2);
        const first = await storage.dms.findOrCreate(a, b, dmChannel(a, b));
        expect(first.created).toBe(true);
        expect(first.channel.type).toBe(1);
        expect(first.channel.guildId).toBeNull();
        expect(sorted(first.channel.recipients)).toEqual(sorted([a, b]));

        const again = await storage.dms.findOrCreate(b, a, dmChannel(b, a));
        expect(again.created).toBe(false);
        expect(again.channel.id).toBe(first.channel.id);
        const found = await storage.channels.findById(first.channel.id);
        expect(sorted(found?.recipients ?? [])).toEqual(sorted([a, b]));
      });

      it('concurrent calls for one pair agree on a single channel', async () => {
        const [a, b] = ids(2);
        const results = await Promise.all([
          storage.dms.findOrCreate(a, b, dmChannel(a, b)),
          storage.dms.findOrCreate(b, a, dmChannel(b, a)),
          storage.dms.findOrCreate(a, b, dmChannel(a, b)),
        ]);
        expect(new Set(results.map((r) => r.channel.id)).size).toBe(1);
        expect(results.filter((r) => r.created)).toHaveLength(1);
      });

      it('lists the DM channels of each recipient', async () => {
        const [a, b, c] = ids(3);
        const ab = (await storage.dms.findOrCreate(a, b, dmChannel(a, b))).channel;
        const ac = (await storage.dms.findOrCreate(a, c, dmChannel(a, c))).channel;
        expect(sorted(idsOf(await storage.dms.listForUser(a, { limit: 10 })))).toEqual(
          sorted([ab.id, ac.id]),
        );
        const forB = await storage.dms.listForUser(b, { limit: 10 });
        expect(idsOf(forB)).toEqual([ab.id]);
        expect(sorted(forB[0].recipients)).toEqual(sorted([a, b]));
        expect(await storage.dms.listForUser(id(), { limit: 10 })).toEqual([]);
      });

      it("pages a user's DM channels newest first from a cursor, and finds one pair without listing", async () => {
        const a = id();
        const others = ids(7);
        const channels: string[] = [];
        for (const other of others)
          channels.push((await storage.dms.findOrCreate(a, other, dmChannel(a, other))).channel.id);
        const newestFirst = [...sorted(channels)].reverse();
        const seen: string[] = [];
        let before: string | undefined;
        for (let pages = 0; pages < 10; pages++) {
          const page = await storage.dms.listForUser(a, { limit: 3, before });
          if (page.length === 0) break;
          expect(page.length).toBeLessThanOrEqual(3);
          seen.push(...idsOf(page));
          before = page[page.length - 1].id;
        }
        expect(seen).toEqual(newestFirst);
        expect((await storage.dms.find(others[3], a))?.id).toBe(channels[3]);
        expect(await storage.dms.find(a, id())).toBeNull();
      });
    });

    describe('messages', () => {
      it('create is an idempotent upsert and find returns every field', async () => {
        const channelId = id();
        const m = message(channelId, {
          guildId: id(),
          authorId: id(),
          content: 'with everything',
          attachments: [
            { id: id(), filename: 'a.png', size: 10, contentType: 'image/png', width: 2, height: 3 },
          ],
          mentions: ids(2),
          mentionRoles: ids(2),
          mentionEveryone: true,
          pinned: true,
          type: 19,
          nonce: 'n1',
          referenceId: id(),
          editedAt: now,
          embeds: [
            {
              type: 'rich',
              title: 'ünïcode 🎉',
              color: 0xff00ff,
              image: { url: 'https://example.test/i.png', proxy_url: '/media/external/x', width: 3 },
              fields: [{ name: 'n', value: 'v', inline: false }],
            },
          ],
          flags: 4,
        });
        await storage.messages.create(m);
        await storage.messages.create(m);
        expect(await storage.messages.find(channelId, m.id)).toEqual(m);
        expect(await storage.messages.listLatest(channelId, 10)).toEqual([m]);
        expect(await storage.messages.find(id(), m.id)).toBeNull();
        expect(await storage.messages.find(channelId, id())).toBeNull();
      });

      it('updates only the patched fields and deletes', async () => {
        const channelId = id();
        const [m, neighbour] = await history(channelId, 2);
        const mention = id();
        await storage.messages.update(channelId, m.id, {
          content: 'edited',
          editedAt: now + 5,
          mentions: [mention],
        });
        expect(await storage.messages.find(channelId, m.id)).toEqual({
          ...m,
          content: 'edited',
          editedAt: now + 5,
          mentions: [mention],
        });
        const role = id();
        await storage.messages.update(channelId, m.id, {
          pinned: true,
          mentionEveryone: true,
          mentionRoles: [role],
        });
        expect(await storage.messages.find(channelId, m.id)).toMatchObject({
          content: 'edited',
          mentions: [mention],
          mentionRoles: [role],
          pinned: true,
          mentionEveryone: true,
        });
        // An emptied role list reads back empty.
        await storage.messages.update(channelId, m.id, { mentionRoles: [] });
        expect((await storage.messages.find(channelId, m.id))?.mentionRoles).toEqual([]);
        const embeds = [{ type: 'link', url: 'https://example.test/', title: 'Example' }];
        await storage.messages.update(channelId, m.id, { embeds, flags: 4 });
        expect(await storage.messages.find(channelId, m.id)).toMatchObject({
          embeds,
          flags: 4,
          pinned: true,
        });
        await storage.messages.update(channelId, m.id, { embeds: [], flags: 0 });
        expect(await storage.messages.find(channelId, m.id)).toMatchObject({ embeds: [], flags: 0 });
        // A webhook's edit replaces the files it keeps; a description (alt text) is kept with its file.
        const files = [
          {
            id: id(),
            filename: 'graph.png',
            size: 10,
            contentType: 'image/png',
            width: 4,
            height: 3,
            description: 'CPU graph',
          },
          { id: id(), filename: 'log.txt', size: 3, contentType: 'text/plain', width: null, height: null },
        ];
        await storage.messages.update(channelId, m.id, { attachments: files });
        expect((await storage.messages.find(channelId, m.id))?.attachments).toEqual(files);
        await storage.messages.update(channelId, m.id, { attachments: [files[1]] });
        expect((await storage.messages.find(channelId, m.id))?.attachments).toEqual([files[1]]);
        await storage.messages.update(channelId, m.id, { attachments: [] });
        expect((await storage.messages.find(channelId, m.id))?.attachments).toEqual([]);

        await storage.messages.delete(channelId, m.id);
        expect(await storage.messages.find(channelId, m.id)).toBeNull();
        expect(await storage.messages.find(channelId, neighbour.id)).toEqual(neighbour);
      });

      it("lists an author's messages in every channel newest first, in pages, through the author index", async () => {
        const author = id();
        const since = early.next();
        const guildChannel = id();
        const leftGuildChannel = id();
        const dmChannel = id();
        const old = message(leftGuildChannel, { id: early.next(), authorId: author, guildId: id() });
        await storage.messages.create(old);
        const mine: MessageRecord[] = [old];
        for (let i = 0; i < 3; i++) {
          for (const [channelId, guildId] of [
            [guildChannel, '11'],
            [leftGuildChannel, '12'],
            [dmChannel, null],
          ] as const) {
            const m = message(channelId, { authorId: author, guildId });
            await storage.messages.create(m);
            mine.push(m);
            await storage.messages.create(message(channelId, { authorId: id(), guildId }));
          }
        }
        const newestFirst = idsOf(mine).sort((a, b) => (BigInt(b) > BigInt(a) ? 1 : -1));
        const walk = async (limit: number): Promise<string[]> => {
          const seen: string[] = [];
          let before: string | null = null;
          for (let pages = 0; pages < 50; pages++) {
            const page = await storage.messages.listByAuthor(author, { before, since, limit });
            seen.push(...idsOf(page.messages));
            if (page.cursor === null) return seen;
            before = page.cursor;
          }
          throw new Error('listByAuthor never ended');
        };
        expect(await walk(4)).toEqual(newestFirst);
        expect(await walk(100)).toEqual(newestFirst);
        const first = await storage.messages.listByAuthor(author, { before: null, since, limit: 3 });
        expect(first.messages).toEqual(
          mine
            .filter((m) => newestFirst.slice(0, 3).includes(m.id))
            .sort((a, b) => (BigInt(b.id) > BigInt(a.id) ? 1 : -1)),
        );
        // Nothing older than `since`, nothing of another author.
        expect(
          (
            await storage.messages.listByAuthor(author, { before: null, since: newestFirst[1], limit: 10 })
          ).messages.map((m) => m.id),
        ).toEqual(newestFirst.slice(0, 2));
        expect(
          (await storage.messages.listByAuthor(id(), { before: null, since, limit: 10 })).messages,
        ).toEqual([]);

        // Deleted messages drop out; once all are gone and the index is forgotten, nothing is listed.
        await storage.messages.delete(dmChannel, mine[3].id, null);
        expect(await walk(2)).toEqual(newestFirst.filter((m) => m !== mine[3].id));
        for (const m of mine) await storage.messages.delete(m.channelId, m.id, m.guildId);
        await storage.messages.forgetAuthor(author, since);
        expect(await walk(5)).toEqual([]);
      });

      it('finds many messages of one channel at once, across buckets, skipping others and unknown ids', async () => {
        const channelId = id();
        const old = message(channelId, { id: early.next() });
        await storage.messages.create(old);
        const recent = await history(channelId, 3);
        const [elsewhere] = await history(id(), 1);
        const found = await storage.messages.findMany(channelId, [
          recent[2].id,
          old.id,
          elsewhere.id,
          id(),
          recent[0].id,
          old.id,
        ]);
        expect([...found].sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1))).toEqual([
          old,
          recent[0],
          recent[2],
        ]);
        expect(await storage.messages.findMany(channelId, [])).toEqual([]);
        await storage.messages.delete(channelId, recent[0].id);
        expect(idsOf(await storage.messages.findMany(channelId, [recent[0].id]))).toEqual([]);
      });

      it('pages history newest first: latest, before, after', async () => {
        const channelId = id();
        const other = id();
        const messages = await history(channelId, 10);
        await history(other, 3);
        const newestFirst = idsOf(messages).reverse(); // [9..0]

        expect(idsOf(await storage.messages.listLatest(channelId, 3))).toEqual(newestFirst.slice(0, 3));
        expect(idsOf(await storage.messages.listLatest(channelId, 50))).toEqual(newestFirst);
        expect(idsOf(await storage.messages.listBefore(channelId, messages[5].id, 3))).toEqual(
          idsOf([messages[4], messages[3], messages[2]]),
        );
        expect(idsOf(await storage.messages.listBefore(channelId, messages[1].id, 3))).toEqual([
          messages[0].id,
        ]);
        // `after` takes the messages right after the cursor, still newest first.
        expect(idsOf(await storage.messages.listAfter(channelId, messages[5].id, 3))).toEqual(
          idsOf([messages[8], messages[7], messages[6]]),
        );
        expect(idsOf(await storage.messages.listAfter(channelId, messages[8].id, 3))).toEqual([
          messages[9].id,
        ]);
        expect(await storage.messages.listAfter(channelId, messages[9].id, 3)).toEqual([]);
        expect(await storage.messages.listLatest(id(), 3)).toEqual([]);
      });

      it('pages around an anchor: the anchor and about half the limit on each side', async () => {
        const channelId = id();
        const messages = await history(channelId, 11);
        const anchor = messages[5];
        const around = idsOf(await storage.messages.listAround(channelId, anchor.id, 5));
        expect(around.length).toBeGreaterThanOrEqual(4);
        expect(around.length).toBeLessThanOrEqual(5);
        expect(around).toContain(anchor.id);
        expect(around).toEqual(sorted(around).reverse());
        expect(around).toEqual(
          expect.arrayContaining(idsOf([messages[3], messages[4], messages[6], messages[7]])),
        );

        const wide = idsOf(await storage.messages.listAround(channelId, anchor.id, 100));
        expect(wide).toEqual(idsOf(messages).reverse());
        // Near the newest end the page is short on the newer side.
        const edge = idsOf(await storage.messages.listAround(channelId, messages[10].id, 4));
        expect(edge[0]).toBe(messages[10].id);
        expect(edge).toEqual(expect.arrayContaining([messages[9].id]));
        // An anchor that is not a message still centres the page on its position.
        const gap = await storage.messages.listAround(channelId, id(), 4);
        expect(idsOf(gap)[0]).toBe(messages[10].id);
      });

      it('orders by id numerically, not as text', async () => {
        const channelId = id();
        const mixed = [early.next(), id(), early.next(), id()];
        for (const messageId of mixed) await storage.messages.create(message(channelId, { id: messageId }));
        const numeric = sorted(mixed);
        expect(idsOf(await storage.messages.listLatest(channelId, 10))).toEqual([...numeric].reverse());
        expect(idsOf(await storage.messages.listAfter(channelId, numeric[0], 10))).toEqual(
          numeric.slice(1).reverse(),
        );
        expect(idsOf(await storage.messages.listBefore(channelId, numeric[3], 10))).toEqual(
          numeric.slice(0, 3).reverse(),
        );
        expect((await storage.messages.lastMessageIds([channelId])).get(channelId)).toBe(numeric[3]);
      });

      it('keeps every one of many concurrent creates', async () => {
        const channelId = id();
        const messages = await history(channelId, 300);
        const page = await storage.messages.listLatest(channelId, 300);
        expect(idsOf(page)).toEqual(idsOf(messages).reverse());
      });

      it('reports the last message id of each channel that has one', async () => {
        const [a, b, empty] = ids(3);
        const inA = await history(a, 3);
        const inB = await history(b, 1);
        const last = await storage.messages.lastMessageIds([a, b, empty]);
        expect(last).toEqual(
          new Map([
            [a, inA[2].id],
            [b, inB[0].id],
          ]),
        );
        expect((await storage.messages.lastMessageIds([])).size).toBe(0);
      });

      it('keeps the highest last message id whatever the order of sends, and after its message is deleted', async () => {
        const channelId = id();
        const [older, newest] = [early.next(), id()];
        // The newest arrives first: a later, older send must not lower the stored id.
        await storage.messages.create(message(channelId, { id: newest }));
        await storage.messages.create(message(channelId, { id: older }));
        expect((await storage.messages.lastMessageIds([channelId, channelId])).get(channelId)).toBe(newest);
        // Discord's last_message_id may name a deleted message: a delete does not move it back.
        await storage.messages.delete(channelId, newest);
        expect(await storage.messages.find(channelId, newest)).toBeNull();
        expect((await storage.messages.lastMessageIds([channelId])).get(channelId)).toBe(newest);
        const later = id();
        await storage.messages.create(message(channelId, { id: later }));
        expect((await storage.messages.lastMessageIds([channelId])).get(channelId)).toBe(later);
      });

      /** `perBucket` messages in each of `buckets` 10-day buckets, oldest bucket first (ids ascending). */
      const spanBuckets = async (
        channelId: string,
        buckets: number,
        perBucket: number,
      ): Promise<MessageRecord[]> => {
        const day = 86_400_000;
        let clock = Date.now() - buckets * 11 * day;
        const spread = new SnowflakeGenerator(5, 11, () => clock++);
        const out: MessageRecord[] = [];
        for (let b = 0; b < buckets; b++) {
          clock = Date.now() - (buckets - 1 - b) * 11 * day - 10 * perBucket;
          for (let i = 0; i < perBucket; i++) out.push(message(channelId, { id: spread.next() }));
        }
        for (let i = 0; i < out.length; i += 50)
          await Promise.all(out.slice(i, i + 50).map((m) => storage.messages.create(m)));
        return out;
      };

      it('purges a channel over several buckets in bounded steps, with reactions and counts', async () => {
        const channelId = id();
        const other = id();
        const messages = await spanBuckets(channelId, 4, 130);
        const [survivor] = await history(other, 1);
        const reactor = id();
        const reacted = [messages[0], messages[200], messages[messages.length - 1]];
        for (const m of [...reacted, survivor]) await storage.reactions.add(m.channelId, m.id, '👍', reactor);

        let steps = 0;
        while (await storage.messages.purgeChannelStep(channelId)) expect(++steps).toBeLessThan(100);
        expect(steps).toBeGreaterThan(0);
        expect(await storage.messages.purgeChannelStep(channelId)).toBe(false);
        expect(await storage.messages.listLatest(channelId, 100)).toEqual([]);
        expect(await storage.messages.listAfter(channelId, '0', 100)).toEqual([]);
        for (const m of reacted) {
          expect(await storage.messages.find(channelId, m.id)).toBeNull();
          expect(await storage.reactions.listUsers(channelId, m.id, '👍', { limit: 10 })).toEqual([]);
        }
        expect(await storage.reactions.counts(channelId, idsOf(reacted), reactor)).toEqual([]);
        expect(await storage.messages.find(other, survivor.id)).toEqual(survivor);
        expect(await storage.reactions.counts(other, [survivor.id], reactor)).toEqual([
          { messageId: survivor.id, emoji: '👍', count: 1, me: true },
        ]);
      });

      it('resumes a purge that stopped mid-way: every step is idempotent', async () => {
        const channelId = id();
        // More buckets than a Cassandra step takes, more rows than a SQLite step takes.
        const messages = await spanBuckets(channelId, 10, 60);
        const reactor = id();
        await storage.reactions.add(channelId, messages[messages.length - 1].id, '🎉', reactor);
        // The job's process dies after one step: what remains is still whole and readable, newest first.
        expect(await storage.messages.purgeChannelStep(channelId)).toBe(true);
        const left = await storage.messages.listLatest(channelId, 5);
        expect(idsOf(left)).toEqual(idsOf(messages.slice(-5).reverse()));
        expect(
          await storage.reactions.counts(channelId, [messages[messages.length - 1].id], reactor),
        ).toEqual([{ messageId: messages[messages.length - 1].id, emoji: '🎉', count: 1, me: true }]);
        // The retried job runs from the start: two runs at once (a redelivery) both finish.
        const run = async (): Promise<void> => {
          while (await storage.messages.purgeChannelStep(channelId));
        };
        await Promise.all([run(), run()]);
        expect(await storage.messages.listLatest(channelId, 10)).toEqual([]);
        expect(
          await storage.reactions.counts(channelId, [messages[messages.length - 1].id], reactor),
        ).toEqual([]);
      });
    });

    describe('edit racing delete', () => {
      /** The order a race can leave things in: the delete lands, then the edit's write. */
      const deleteThenEdit = async (channelId: string, messageId: string): Promise<void> => {
        await storage.messages.delete(channelId, messageId);
        await storage.messages.update(channelId, messageId, { content: 'late edit', editedAt: Date.now() });
      };

      it('leaves no message behind and pages stay full, in both directions', async () => {
        const channelId = id();
        const [m1, m2, m3, m4, m5] = await history(channelId, 5);
        await deleteThenEdit(channelId, m3.id);
        expect(await storage.messages.find(channelId, m3.id)).toBeNull();
        expect(idsOf(await storage.messages.listLatest(channelId, 3))).toEqual([m5.id, m4.id, m2.id]);
        expect(idsOf(await storage.messages.listBefore(channelId, m5.id, 3))).toEqual([m4.id, m2.id, m1.id]);
        expect(idsOf(await storage.messages.listAfter(channelId, m1.id, 3))).toEqual([m5.id, m4.id, m2.id]);
        expect(idsOf(await storage.messages.listAround(channelId, m3.id, 4))).toEqual([
          m5.id,
          m4.id,
          m2.id,
          m1.id,
        ]);
        // Read again (the stray row, where a driver leaves one, was cleared by the first read).
        expect(idsOf(await storage.messages.listLatest(channelId, 10))).toEqual([m5.id, m4.id, m2.id, m1.id]);
      });

      it('goes on to the older bucket when the raced message was the edge of its bucket', async () => {
        const channelId = id();
        const old = early.next();
        await storage.messages.create(message(channelId, { id: old }));
        const recent = await history(channelId, 3);
        await deleteThenEdit(channelId, recent[0].id);
        expect(idsOf(await storage.messages.listLatest(channelId, 3))).toEqual([
          recent[2].id,
          recent[1].id,
          old,
        ]);
        expect(idsOf(await storage.messages.listAfter(channelId, old, 2))).toEqual([
          recent[2].id,
          recent[1].id,
        ]);
      });
    });

    describe('reactions', () => {
      it('adds once per user and emoji, and removes', async () => {
        const channelId = id();
        const [m] = await history(channelId, 1);
        const userId = id();
        expect(await storage.reactions.add(channelId, m.id, '🔥', userId)).toBe(true);
        expect(await storage.reactions.add(channelId, m.id, '🔥', userId)).toBe(false);
        expect(await storage.reactions.listUsers(channelId, m.id, '🔥', { limit: 10 })).toEqual([userId]);
        expect(await storage.reactions.remove(channelId, m.id, '🔥', userId)).toBe(true);
        expect(await storage.reactions.remove(channelId, m.id, '🔥', userId)).toBe(false);
        expect(await storage.reactions.listUsers(channelId, m.id, '🔥', { limit: 10 })).toEqual([]);
        expect(await storage.reactions.counts(channelId, [m.id], userId)).toEqual([]);
      });

      it('counts per message and emoji with `me` for the viewer', async () => {
        const channelId = id();
        const [m1, m2, m3] = await history(channelId, 3);
        const [viewer, u1, u2] = ids(3);
        await storage.reactions.add(channelId, m1.id, '👍', viewer);
        await storage.reactions.add(channelId, m1.id, '👍', u1);
        await storage.reactions.add(channelId, m1.id, '❤️', u1);
        await storage.reactions.add(channelId, m2.id, 'custom:123', u2);
        await storage.reactions.add(channelId, m2.id, 'custom:123', u1);
        await storage.reactions.remove(channelId, m2.id, 'custom:123', u1);

        const counts = await storage.reactions.counts(channelId, [m1.id, m2.id, m3.id], viewer);
        const key = (c: { messageId: string; emoji: string }): string => `${c.messageId}/${c.emoji}`;
        expect([...counts].sort((a, b) => key(a).localeCompare(key(b)))).toEqual(
          [
            { messageId: m1.id, emoji: '👍', count: 2, me: true },
            { messageId: m1.id, emoji: '❤️', count: 1, me: false },
            { messageId: m2.id, emoji: 'custom:123', count: 1, me: false },
          ].sort((a, b) => key(a).localeCompare(key(b))),
        );
        expect(await storage.reactions.counts(channelId, [], viewer)).toEqual([]);
      });

      it('lists reacting users ascending, page by page', async () => {
        const channelId = id();
        const [m] = await history(channelId, 1);
        const users = [id(), early.next(), id(), early.next(), id()];
        for (const userId of users) await storage.reactions.add(channelId, m.id, '✅', userId);
        await storage.reactions.add(channelId, m.id, '❌', id());
        const all = sorted(users);
        const first = await storage.reactions.listUsers(channelId, m.id, '✅', { limit: 3 });
        expect(first).toEqual(all.slice(0, 3));
        expect(
          await storage.reactions.listUsers(channelId, m.id, '✅', { limit: 3, after: first[2] }),
        ).toEqual(all.slice(3));
      });

      it('counts a page spanning old and new messages, only for the messages asked', async () => {
        const channelId = id();
        // Far apart in time (different Cassandra buckets), then a run of current ones.
        const old = [early.next(), early.next()];
        for (const messageId of old) await storage.messages.create(message(channelId, { id: messageId }));
        const recent = await history(channelId, 5);
        const [viewer, other] = ids(2);
        for (const messageId of [...old, ...idsOf(recent)]) {
          await storage.reactions.add(channelId, messageId, '👍', other);
          await storage.reactions.add(channelId, messageId, '🎉', viewer);
        }
        await storage.reactions.add(channelId, old[1], '👍', viewer);
        // Not contiguous: the messages in between must not be counted.
        const asked = [recent[4].id, recent[1].id, old[1], old[0]];
        const counts = await storage.reactions.counts(channelId, asked, viewer);
        const key = (c: { messageId: string; emoji: string }): string => `${c.messageId}/${c.emoji}`;
        const expected = asked.flatMap((messageId) => [
          { messageId, emoji: '👍', count: messageId === old[1] ? 2 : 1, me: messageId === old[1] },
          { messageId, emoji: '🎉', count: 1, me: true },
        ]);
        expect([...counts].sort((a, b) => key(a).localeCompare(key(b)))).toEqual(
          expected.sort((a, b) => key(a).localeCompare(key(b))),
        );
        expect(await storage.reactions.counts(channelId, [recent[0].id], other)).toEqual(
          expect.arrayContaining([
            { messageId: recent[0].id, emoji: '👍', count: 1, me: true },
            { messageId: recent[0].id, emoji: '🎉', count: 1, me: false },
          ]),
        );
        expect(await storage.reactions.listUsers(channelId, old[1], '👍', { limit: 10 })).toEqual(
          sorted([viewer, other]),
        );
      });

      it('pages the reactors of a much-reacted message in user id order across every partition', async () => {
        const channelId = id();
        const [m] = await history(channelId, 1);
        // Enough users that every shard of a sharding driver holds several, some minted near the epoch.
        const users = [...ids(60), ...Array.from({ length: 20 }, () => early.next())];
        await Promise.all(users.map((userId) => storage.reactions.add(channelId, m.id, '🚀', userId)));
        await storage.reactions.remove(channelId, m.id, '🚀', users[5]);
        const expected = sorted(users.filter((u) => u !== users[5]));
        const seen: string[] = [];
        let after: string | undefined;
        for (let pages = 0; pages < 20; pages++) {
          const page = await storage.reactions.listUsers(channelId, m.id, '🚀', { limit: 7, after });
          if (page.length === 0) break;
          seen.push(...page);
          after = page[page.length - 1];
        }
        expect(seen).toEqual(expected);
        expect(await storage.reactions.listUsers(channelId, m.id, '🚀', { limit: 100 })).toEqual(expected);
        expect(await storage.reactions.counts(channelId, [m.id], users[0])).toEqual([
          { messageId: m.id, emoji: '🚀', count: expected.length, me: true },
        ]);
        await storage.reactions.deleteForMessage(channelId, m.id);
        expect(await storage.reactions.listUsers(channelId, m.id, '🚀', { limit: 100 })).toEqual([]);
        expect(await storage.reactions.counts(channelId, [m.id], users[0])).toEqual([]);
      });

      it('deletes every reaction of a message', async () => {
        const channelId = id();
        const [m, kept] = await history(channelId, 2);
        const userId = id();
        await storage.reactions.add(channelId, m.id, 'a', userId);
        await storage.reactions.add(channelId, m.id, 'b', id());
        await storage.reactions.add(channelId, kept.id, 'a', userId);
        await storage.reactions.deleteForMessage(channelId, m.id);
        expect(await storage.reactions.counts(channelId, [m.id, kept.id], userId)).toEqual([
          { messageId: kept.id, emoji: 'a', count: 1, me: true },
        ]);
        expect(await storage.reactions.add(channelId, m.id, 'a', userId)).toBe(true);
      });
    });

    describe('reaction counts (materialised)', () => {
      const countOf = async (channelId: string, messageId: string, emoji: string, viewer: string) =>
        (await storage.reactions.counts(channelId, [messageId], viewer)).find((c) => c.emoji === emoji);

      it('counts each user once when the same add and the same remove race, and only the winner reports it', async () => {
        const channelId = id();
        const [m] = await history(channelId, 1);
        const users = ids(6);
        // Every user's add sent twice at once: one of each pair wins, the count is the number of users.
        const added = await Promise.all(
          [...users, ...users].map((userId) => storage.reactions.add(channelId, m.id, '🔥', userId)),
        );
        expect(added.filter(Boolean)).toHaveLength(users.length);
        expect(await countOf(channelId, m.id, '🔥', users[0])).toEqual({
          messageId: m.id,
          emoji: '🔥',
          count: users.length,
          me: true,
        });
        const leaving = users.slice(0, 4);
        const removed = await Promise.all(
          [...leaving, ...leaving].map((userId) => storage.reactions.remove(channelId, m.id, '🔥', userId)),
        );
        expect(removed.filter(Boolean)).toHaveLength(leaving.length);
        expect(await countOf(channelId, m.id, '🔥', users[0])).toEqual({
          messageId: m.id,
          emoji: '🔥',
          count: users.length - leaving.length,
          me: false,
        });
        // Back to none: the emoji is no longer listed, and it counts from one again.
        await Promise.all(
          users.slice(4).map((userId) => storage.reactions.remove(channelId, m.id, '🔥', userId)),
        );
        expect(await storage.reactions.counts(channelId, [m.id], users[0])).toEqual([]);
        expect(await storage.reactions.add(channelId, m.id, '🔥', users[0])).toBe(true);
        expect(await countOf(channelId, m.id, '🔥', users[0])).toMatchObject({ count: 1, me: true });
      });

      it('counts a viral message exactly, its neighbours untouched', async () => {
        const channelId = id();
        const [viral, quiet] = await history(channelId, 2);
        const fans = ids(300);
        for (let i = 0; i < fans.length; i += 25)
          await Promise.all(
            fans.slice(i, i + 25).map((userId) => storage.reactions.add(channelId, viral.id, '😂', userId)),
          );
        await storage.reactions.add(channelId, quiet.id, '😂', fans[0]);
        expect(await storage.reactions.counts(channelId, [viral.id, quiet.id], fans[299])).toEqual([
          { messageId: viral.id, emoji: '😂', count: 300, me: true },
          { messageId: quiet.id, emoji: '😂', count: 1, me: false },
        ]);
      });

      it('counts and `me` follow a page read again while its emojis change between reads', async () => {
        const channelId = id();
        const [m1, m2] = await history(channelId, 2);
        const [viewer, other] = ids(2);
        const page = () => storage.reactions.counts(channelId, [m2.id, m1.id], viewer);
        await storage.reactions.add(channelId, m1.id, '👍', other);
        expect(await page()).toEqual([{ messageId: m1.id, emoji: '👍', count: 1, me: false }]);
        // The viewer joins the emoji read last time, and adds one never read before, on another message.
        await storage.reactions.add(channelId, m1.id, '👍', viewer);
        await storage.reactions.add(channelId, m2.id, '🎉', viewer);
        expect(await page()).toEqual([
          { messageId: m2.id, emoji: '🎉', count: 1, me: true },
          { messageId: m1.id, emoji: '👍', count: 2, me: true },
        ]);
        // An emoji read last time goes, the viewer leaves the other: nothing stale is reported.
        await storage.reactions.remove(channelId, m2.id, '🎉', viewer);
        await storage.reactions.remove(channelId, m1.id, '👍', viewer);
        expect(await page()).toEqual([{ messageId: m1.id, emoji: '👍', count: 1, me: false }]);
        await storage.reactions.remove(channelId, m1.id, '👍', other);
        expect(await page()).toEqual([]);
        await storage.reactions.add(channelId, m1.id, '👍', viewer);
        expect(await page()).toEqual([{ messageId: m1.id, emoji: '👍', count: 1, me: true }]);
      });

      it('a deleted message counts from nothing if reactions reach it again', async () => {
        const channelId = id();
        const [m] = await history(channelId, 1);
        const [a, b] = ids(2);
        await storage.reactions.add(channelId, m.id, 'x', a);
        await storage.reactions.add(channelId, m.id, 'x', b);
        await storage.reactions.deleteForMessage(channelId, m.id);
        expect(await storage.reactions.counts(channelId, [m.id], a)).toEqual([]);
        expect(await storage.reactions.add(channelId, m.id, 'x', a)).toBe(true);
        expect(await countOf(channelId, m.id, 'x', a)).toMatchObject({ count: 1, me: true });
      });
    });

    describe('pins', () => {
      it('lists newest pin first, re-pins in place, removes one and forgets a channel', async () => {
        const [channelId, other] = ids(2);
        const [a, b, c] = ids(3);
        await storage.pins.add({ channelId, messageId: b, pinnedAt: now + 2 });
        await storage.pins.add({ channelId, messageId: a, pinnedAt: now + 1 });
        await storage.pins.add({ channelId, messageId: c, pinnedAt: now + 3 });
        await storage.pins.add({ channelId: other, messageId: a, pinnedAt: now });
        expect(await storage.pins.list(channelId)).toEqual([
          { channelId, messageId: c, pinnedAt: now + 3 },
          { channelId, messageId: b, pinnedAt: now + 2 },
          { channelId, messageId: a, pinnedAt: now + 1 },
        ]);
        // Pinning again moves the pin time: one row, not two.
        await storage.pins.add({ channelId, messageId: a, pinnedAt: now + 4 });
        await storage.pins.remove(channelId, b);
        await storage.pins.remove(channelId, id()); // nothing pinned under that id: no error
        expect(await storage.pins.list(channelId)).toEqual([
          { channelId, messageId: a, pinnedAt: now + 4 },
          { channelId, messageId: c, pinnedAt: now + 3 },
        ]);
        await storage.pins.deleteChannel(channelId);
        expect(await storage.pins.list(channelId)).toEqual([]);
        expect(await storage.pins.list(other)).toEqual([{ channelId: other, messageId: a, pinnedAt: now }]);
      });
    });

    describe('read states', () => {
      it('counts mentions without a prior read state and clears them on ack', async () => {
        const [userId, other, c1, c2] = ids(4);
        await storage.readStates.incrementMentions(c1, [userId, other]);
        await storage.readStates.incrementMentions(c1, [userId]);
        expect(await storage.readStates.list(userId)).toEqual([
          { userId, channelId: c1, lastMessageId: null, mentionCount: 2 },
        ]);

        const [m1, m2] = ids(2);
        await storage.readStates.ack(userId, c1, m1);
        await storage.readStates.ack(userId, c2, m2);
        await storage.readStates.incrementMentions(c2, [userId]);
        const states = await storage.readStates.list(userId);
        expect(states.sort((a, b) => compareSnowflakes(a.channelId, b.channelId))).toEqual([
          { userId, channelId: c1, lastMessageId: m1, mentionCount: 0 },
          { userId, channelId: c2, lastMessageId: m2, mentionCount: 1 },
        ]);
        expect(await storage.readStates.list(other)).toEqual([
          { userId: other, channelId: c1, lastMessageId: null, mentionCount: 1 },
        ]);
        expect(await storage.readStates.list(id())).toEqual([]);
      });
    });

    describe('notification settings', () => {
      const settings = (userId: string, guildId: string, updatedAt = Date.now()): GuildSettingsRecord => ({
        userId,
        guildId,
        messageNotifications: 1,
        muted: true,
        muteEndTime: updatedAt + 60_000,
        suppressEveryone: true,
        suppressRoles: false,
        channelOverrides: [
          { channelId: id(), messageNotifications: 2, muted: false, muteEndTime: null },
          // An id past 2^53 survives the JSON the overrides are kept in.
          { channelId: '1234567890123456789', messageNotifications: 3, muted: true, muteEndTime: updatedAt },
        ],
        updatedAt,
      });

      it('stores, replaces, lists per user and deletes', async () => {
        const [userId, other, g1, g2] = ids(4);
        expect(await storage.guildSettings.find(userId, g1)).toBeNull();
        const first = settings(userId, g1);
        await storage.guildSettings.put(first);
        expect(await storage.guildSettings.find(userId, g1)).toEqual(first);

        // A replacement clears what it no longer holds: no end time, no overrides.
        const replaced: GuildSettingsRecord = {
          ...first,
          messageNotifications: 3,
          muted: false,
          muteEndTime: null,
          suppressEveryone: false,
          suppressRoles: true,
          channelOverrides: [],
          updatedAt: first.updatedAt + 1,
        };
        await storage.guildSettings.put(replaced);
        expect(await storage.guildSettings.find(userId, g1)).toEqual(replaced);

        const second = settings(userId, g2);
        await storage.guildSettings.put(second);
        await storage.guildSettings.put(settings(other, g1));
        const mine = await storage.guildSettings.list(userId);
        expect(mine.sort((a, b) => compareSnowflakes(a.guildId, b.guildId))).toEqual([replaced, second]);

        await storage.guildSettings.delete(userId, g1);
        expect(await storage.guildSettings.find(userId, g1)).toBeNull();
        expect(await storage.guildSettings.list(userId)).toEqual([second]);
        expect(await storage.guildSettings.find(other, g1)).not.toBeNull();
        expect(await storage.guildSettings.list(id())).toEqual([]);
      });
    });

    describe('web push subscriptions and instance secrets', () => {
      const sub = (userId: string, endpointId: string, key = 'BKey') => ({
        userId,
        endpointId,
        endpoint: `https://push.example/${endpointId}`,
        p256dh: key,
        auth: 'secret',
        createdAt: 1_700_000_000_000,
      });

      it('upserts per device, lists per user, deletes one device', async () => {
        const userId = id();
        const other = id();
        expect(await storage.push.listSubscriptions(userId)).toEqual([]);
        await storage.push.putSubscription(sub(userId, 'aa'));
        await storage.push.putSubscription(sub(userId, 'bb'));
        await storage.push.putSubscription(sub(other, 'aa'));
        // The same device again: its keys are replaced, no second row.
        await storage.push.putSubscription(sub(userId, 'aa', 'BNewKey'));
        const mine = await storage.push.listSubscriptions(userId);
        expect(mine.sort((x, y) => x.endpointId.localeCompare(y.endpointId))).toEqual([
          sub(userId, 'aa', 'BNewKey'),
          sub(userId, 'bb'),
        ]);
        await storage.push.deleteSubscription(userId, 'aa');
        expect(await storage.push.listSubscriptions(userId)).toEqual([sub(userId, 'bb')]);
        expect(await storage.push.listSubscriptions(other)).toEqual([sub(other, 'aa')]);
        // Deleting what is gone is not an error (a 410 and a DELETE may race).
        await storage.push.deleteSubscription(userId, 'aa');
      });

      it("keeps each user's notification preferences", async () => {
        const userId = id();
        expect(await storage.notificationPrefs.find(userId)).toBeNull();
        await storage.notificationPrefs.put({ userId, emailEnabled: false, updatedAt: 5 });
        expect(await storage.notificationPrefs.find(userId)).toEqual({
          userId,
          emailEnabled: false,
          updatedAt: 5,
        });
        await storage.notificationPrefs.put({ userId, emailEnabled: true, updatedAt: 6 });
        expect(await storage.notificationPrefs.find(userId)).toEqual({
          userId,
          emailEnabled: true,
          updatedAt: 6,
        });
        expect(await storage.notificationPrefs.find(id())).toBeNull();
      });

      it('keeps the first writer of a secret', async () => {
        const name = `vapid_${id()}`;
        expect(await storage.push.getSecret(name)).toBeNull();
        const first = { name, value: 'first', createdAt: 1 };
        const [a, b] = await Promise.all([
          storage.push.putSecretIfAbsent(first),
          storage.push.putSecretIfAbsent({ name, value: 'second', createdAt: 2 }),
        ]);
        expect(a).toEqual(b);
        expect(await storage.push.getSecret(name)).toEqual(a);
        expect(await storage.push.putSecretIfAbsent({ name, value: 'third', createdAt: 3 })).toEqual(a);
      });
    });

    describe('send nonces (enforce_nonce)', () => {
      const TTL = 60_000;

      it('claims a nonce once per channel and author; a repeat names the first message', async () => {
        const [channelId, otherChannel, author, otherAuthor, first, second] = ids(6);
        const claim = (channel: string, who: string, messageId: string, nonce = 'n-1') =>
          storage.messages.claimNonce(channel, who, nonce, messageId, TTL);
        expect(await claim(channelId, author, first)).toBeNull();
        expect(await claim(channelId, author, second)).toBe(first);
        expect(await claim(channelId, author, second, 'n-2')).toBeNull();
        expect(await claim(otherChannel, author, second)).toBeNull();
        expect(await claim(channelId, otherAuthor, second)).toBeNull();
      });

      it('gives exactly one of several concurrent claims the nonce', async () => {
        const [channelId, author] = ids(2);
        const candidates = ids(6);
        const answers = await Promise.all(
          candidates.map((messageId) =>
            storage.messages.claimNonce(channelId, author, 'race', messageId, TTL),
          ),
        );
        const winners = candidates.filter((_, i) => answers[i] === null);
        expect(winners).toHaveLength(1);
        for (const answer of answers) if (answer !== null) expect(answer).toBe(winners[0]);
      });

      it('releases a claim only for the message that holds it', async () => {
        const [channelId, author, first, second] = ids(4);
        expect(await storage.messages.claimNonce(channelId, author, 'r', first, TTL)).toBeNull();
        await storage.messages.releaseNonce(channelId, author, 'r', second);
        expect(await storage.messages.claimNonce(channelId, author, 'r', second, TTL)).toBe(first);
        await storage.messages.releaseNonce(channelId, author, 'r', first);
        expect(await storage.messages.claimNonce(channelId, author, 'r', second, TTL)).toBeNull();
      });
    });

    describe('read states under concurrency', () => {
      it('never counts below zero when several devices ack at once, and counts mentions after them', async () => {
        const [userId, channelId, m1, m2, m3] = ids(5);
        for (let i = 0; i < 3; i++) await storage.readStates.incrementMentions(channelId, [userId]);
        await Promise.all([m1, m2, m3].map((m) => storage.readStates.ack(userId, channelId, m)));
        const [acked] = await storage.readStates.list(userId);
        expect(acked.mentionCount).toBe(0);
        expect([m1, m2, m3]).toContain(acked.lastMessageId);
        // Had each ack taken off the 3 it read, the next mention would still show as 0.
        await storage.readStates.incrementMentions(channelId, [userId]);
        expect(await storage.readStates.list(userId)).toEqual([
          { userId, channelId, lastMessageId: acked.lastMessageId, mentionCount: 1 },
        ]);
        await storage.readStates.ack(userId, channelId, m3);
        expect((await storage.readStates.list(userId))[0].mentionCount).toBe(0);
      });

      it('keeps a mention that lands while an ack is in flight, or clears it, never more', async () => {
        const [userId, channelId, m1] = ids(3);
        await storage.readStates.incrementMentions(channelId, [userId]);
        await Promise.all([
          storage.readStates.ack(userId, channelId, m1),
          storage.readStates.incrementMentions(channelId, [userId]),
        ]);
        const [state] = await storage.readStates.list(userId);
        expect([0, 1]).toContain(state.mentionCount);
      });
    });

    describe('invites', () => {
      const invite = (
        guildId: string,
        overrides: Partial<{ maxUses: number; expiresAt: number | null }> = {},
      ) => ({
        code: `inv${id()}`,
        guildId,
        channelId: id(),
        inviterId: id(),
        maxAge: overrides.expiresAt ? 60 : 0,
        maxUses: 0,
        uses: 0,
        createdAt: now,
        expiresAt: null,
        ...overrides,
      });

      it('verify --claims: every claim has its holder, and an invite of a removed guild is reported', async () => {
        const holder = user();
        await storage.users.create(holder);
        const [a, b] = sorted(ids(2));
        const dm = await storage.dms.findOrCreate(a, b, dmChannel(a, b));
        const live = await newGuild();
        const gone = await newGuild();
        const [kept, orphan] = [invite(live.guild.id), invite(gone.guild.id)];
        await storage.invites.create(kept);
        await storage.invites.create(orphan);
        await storage.guilds.removeRecord(gone.guild.id);

        const mine = new Set([
          holder.username.toLowerCase(),
          holder.email.toLowerCase(),
          `${a}:${b}`,
          kept.code,
          orphan.code,
        ]);
        const found: ClaimMismatch[] = [];
        const counts = await bulkOf(storage).reconcileClaims((m) => {
          if (mine.has(m.key)) found.push(m);
        });
        expect(found).toEqual([
          {
            kind: 'invite',
            key: orphan.code,
            problem: `the invite names guild ${gone.guild.id}, which does not exist`,
          },
        ]);
        expect(counts.username).toBeGreaterThanOrEqual(1);
        expect(counts.email).toBeGreaterThanOrEqual(1);
        expect(counts.dm_pair).toBeGreaterThanOrEqual(1);
        expect(counts.invite).toBeGreaterThanOrEqual(2);
        expect(dm.created).toBe(true);
        // The job's part of the guild delete takes its invites with it.
        await storage.guilds.delete(gone.guild.id);
        const after: ClaimMismatch[] = [];
        await bulkOf(storage).reconcileClaims((m) => {
          if (mine.has(m.key)) after.push(m);
        });
        expect(after).toEqual([]);
      });

      it('creates, finds, lists by guild and deletes; a taken code is refused', async () => {
        const guildId = id();
        const [a, b] = [invite(guildId), invite(guildId, { maxUses: 5, expiresAt: now + 60_000 })];
        await storage.invites.create(a);
        await storage.invites.create(b);
        await storage.invites.create(invite(id()));
        expect(await storage.invites.find(b.code)).toEqual(b);
        expect(await storage.invites.find('nope')).toBeNull();
        expect((await storage.invites.listByGuild(guildId)).map((i) => i.code).sort()).toEqual(
          [a.code, b.code].sort(),
        );
        await expect(storage.invites.create({ ...invite(guildId), code: a.code })).rejects.toMatchObject({
          field: 'invite_code',
        });
        await storage.invites.delete(a.code);
        expect(await storage.invites.find(a.code)).toBeNull();
        expect(await storage.invites.use(a.code, now)).toBe(false);
      });

      it('counts uses until exhausted', async () => {
        const limited = invite(id(), { maxUses: 2 });
        await storage.invites.create(limited);
        expect(await storage.invites.use(limited.code, now)).toBe(true);
        expect(await storage.invites.use(limited.code, now)).toBe(true);
        expect(await storage.invites.use(limited.code, now)).toBe(false);
        expect((await storage.invites.find(limited.code))?.uses).toBe(2);

        const unlimited = invite(id());
        await storage.invites.create(unlimited);
        for (let i = 0; i < 5; i++) expect(await storage.invites.use(unlimited.code, now)).toBe(true);
        expect((await storage.invites.find(unlimited.code))?.uses).toBe(5);
      });

      it('refuses uses at or after expiry', async () => {
        const expiring = invite(id(), { expiresAt: now + 1000 });
        await storage.invites.create(expiring);
        expect(await storage.invites.use(expiring.code, now + 999)).toBe(true);
        expect(await storage.invites.use(expiring.code, now + 1000)).toBe(false);
        expect(await storage.invites.use(expiring.code, now + 5000)).toBe(false);
        expect((await storage.invites.find(expiring.code))?.uses).toBe(1);
      });

      it('never grants more uses than allowed to concurrent joins', async () => {
        const limited = invite(id(), { maxUses: 3 });
        await storage.invites.create(limited);
        const results = await Promise.all(
          Array.from({ length: 10 }, () => storage.invites.use(limited.code, now)),
        );
        expect(results.filter(Boolean)).toHaveLength(3);
      });
    });

    describe('webhooks', () => {
      const webhook = (guildId: string, channelId: string, name: string) => ({
        id: id(),
        guildId,
        channelId,
        creatorId: id(),
        name,
        avatar: null,
        token: `${name}-${'t'.repeat(60)}`,
      });

      it('finds by id, lists per guild and channel in id order, updates and deletes', async () => {
        const [guildId, a, b] = [id(), id(), id()];
        const first = webhook(guildId, a, 'first');
        const second = webhook(guildId, b, 'sécond 🎉');
        const third = webhook(guildId, a, 'third');
        for (const w of [third, first, second]) await storage.webhooks.create(w);
        await storage.webhooks.create(webhook(id(), a, 'elsewhere'));
        expect(await storage.webhooks.find(second.id)).toEqual(second);
        expect(await storage.webhooks.find(id())).toBeNull();
        expect(await storage.webhooks.listByGuild(guildId)).toEqual([first, second, third]);
        expect(await storage.webhooks.listByChannel(guildId, a)).toEqual([first, third]);

        await storage.webhooks.update(first.id, { name: 'renamed', avatar: 'https://example.test/a.png' });
        await storage.webhooks.update(third.id, { channelId: b });
        await storage.webhooks.update(second.id, {});
        const renamed = { ...first, name: 'renamed', avatar: 'https://example.test/a.png' };
        expect(await storage.webhooks.find(first.id)).toEqual(renamed);
        expect(await storage.webhooks.listByChannel(guildId, b)).toEqual([
          second,
          { ...third, channelId: b },
        ]);
        await storage.webhooks.update(first.id, { avatar: null });
        expect((await storage.webhooks.find(first.id))?.avatar).toBeNull();

        await storage.webhooks.delete(second.id);
        await storage.webhooks.delete(second.id); // twice is no error
        expect(await storage.webhooks.find(second.id)).toBeNull();
        expect((await storage.webhooks.listByGuild(guildId)).map((w) => w.id)).toEqual([first.id, third.id]);
        // An update racing the delete does not bring it back.
        await storage.webhooks.update(second.id, { name: 'ghost' });
        expect(await storage.webhooks.find(second.id)).toBeNull();
      });

      it('go with their guild', async () => {
        const guildId = id();
        const w = webhook(guildId, id(), 'gone');
        await storage.webhooks.create(w);
        await storage.guilds.delete(guildId);
        expect(await storage.webhooks.find(w.id)).toBeNull();
        expect(await storage.webhooks.listByGuild(guildId)).toEqual([]);
      });

      it("keeps a webhook message's name and avatar", async () => {
        const channelId = id();
        const hook = { id: id(), name: 'Uptime Kuma', avatar: 'https://example.test/k.png' };
        const m = message(channelId, { authorId: hook.id, content: 'up', webhook: hook });
        const plain = message(channelId);
        await storage.messages.create(m);
        await storage.messages.create(plain);
        expect(await storage.messages.find(channelId, m.id)).toEqual(m);
        const found = await storage.messages.find(channelId, plain.id);
        expect(found).toEqual(plain);
        expect(found && 'webhook' in found).toBe(false);
      });
    });

    describe('audit log', () => {
      const DAY = 86_400_000;
      const entry = (guildId: string, entryId: string, over: Partial<AuditLogEntryRecord> = {}) => ({
        guildId,
        id: entryId,
        userId: null,
        targetId: null,
        actionType: 22,
        changes: '[]',
        reason: null,
        options: null,
        expiresAt: now + 45 * DAY,
        ...over,
      });
      // Ids minted 30, 20, 10 and 0 days ago: they lie in different time windows of a time-windowed driver.
      const at = (daysAgo: number): string => new SnowflakeGenerator(3, 5, () => now - daysAgo * DAY).next();
      const query = { limit: 50, now, oldest: now - 45 * DAY };

      it('pages a guild newest first across time, with before, after and filters', async () => {
        const guildId = id();
        const [actor, other, target] = ids(3);
        const written = [30, 20, 10, 0].map((d, i) =>
          entry(guildId, at(d), {
            userId: i % 2 ? other : actor,
            targetId: target,
            actionType: i < 2 ? 22 : 20,
            reason: i === 0 ? 'spam' : null,
            changes: i === 3 ? '[{"key":"nick","old_value":"a","new_value":"b"}]' : '[]',
            options: i === 2 ? '{"count":"2"}' : null,
          }),
        );
        for (const e of written) await storage.auditLog.append(e);
        await storage.auditLog.append(entry(id(), id())); // another guild
        const newest = [...written].reverse();
        expect(await storage.auditLog.list(guildId, query)).toEqual(newest);
        expect(await storage.auditLog.list(guildId, { ...query, limit: 2 })).toEqual(newest.slice(0, 2));
        expect(await storage.auditLog.list(guildId, { ...query, limit: 2, before: newest[1].id })).toEqual(
          newest.slice(2, 4),
        );
        expect(await storage.auditLog.list(guildId, { ...query, limit: 2, after: written[0].id })).toEqual([
          written[2],
          written[1],
        ]);
        expect(await storage.auditLog.list(guildId, { ...query, userId: other })).toEqual([
          written[3],
          written[1],
        ]);
        expect(await storage.auditLog.list(guildId, { ...query, actionType: 20, userId: actor })).toEqual([
          written[2],
        ]);
        // The oldest entries fall outside a shorter retention horizon.
        expect(await storage.auditLog.list(guildId, { ...query, oldest: now - 15 * DAY })).toEqual(
          newest.slice(0, 2),
        );
      });

      it('never serves an expired entry, nor writes one', async () => {
        const guildId = id();
        const kept = entry(guildId, id(), { expiresAt: now + DAY });
        await storage.auditLog.append(kept);
        await storage.auditLog.append(entry(guildId, id(), { expiresAt: now - 1 }));
        expect(await storage.auditLog.list(guildId, query)).toEqual([kept]);
        expect(await storage.auditLog.list(guildId, { ...query, now: now + 2 * DAY })).toEqual([]);
      });

      it('writing an entry twice keeps one', async () => {
        const guildId = id();
        const once = entry(guildId, id(), { reason: 'twice' });
        await storage.auditLog.append(once);
        await storage.auditLog.append(once);
        expect(await storage.auditLog.list(guildId, query)).toEqual([once]);
      });
    });

    describe('AutoMod rules', () => {
      it("puts, finds, lists a guild's rules by id, replaces and deletes", async () => {
        const guildId = id();
        const [a, b] = [id(), id()];
        const rule = (ruleId: string, name: string) => ({
          guildId,
          id: ruleId,
          creatorId: '42',
          rule: JSON.stringify({ name, trigger_type: 1 }),
        });
        await storage.autoModRules.put(rule(b, 'second'));
        await storage.autoModRules.put(rule(a, 'first'));
        await storage.autoModRules.put({ ...rule(id(), 'elsewhere'), guildId: id() });
        expect(await storage.autoModRules.list(guildId)).toEqual([rule(a, 'first'), rule(b, 'second')]);
        await storage.autoModRules.put(rule(a, 'renamed'));
        expect(await storage.autoModRules.find(guildId, a)).toEqual(rule(a, 'renamed'));
        await storage.autoModRules.delete(guildId, a);
        expect(await storage.autoModRules.find(guildId, a)).toBeNull();
        expect(await storage.autoModRules.list(guildId)).toEqual([rule(b, 'second')]);
        expect(await storage.autoModRules.list(id())).toEqual([]);
      });
    });

    describe('relationships and privacy', () => {
      it('blocks are keyed by (user, target), listed by target, removed; privacy is one row per user', async () => {
        const [me, x, y] = [id(), id(), id()];
        await storage.relationships.put({ userId: me, targetId: y, type: 2, createdAt: now });
        await storage.relationships.put({ userId: me, targetId: x, type: 2, createdAt: now + 1 });
        await storage.relationships.put({ userId: x, targetId: me, type: 2, createdAt: now });
        expect(await storage.relationships.find(me, x)).toEqual({
          userId: me,
          targetId: x,
          type: 2,
          createdAt: now + 1,
        });
        expect(await storage.relationships.find(y, me)).toBeNull();
        expect((await storage.relationships.list(me, 100)).map((r) => r.targetId)).toEqual(sorted([x, y]));
        expect(await storage.relationships.list(me, 1)).toHaveLength(1);
        await storage.relationships.delete(me, x);
        expect(await storage.relationships.find(me, x)).toBeNull();
        expect(await storage.relationships.find(x, me)).not.toBeNull();
        expect(await storage.relationships.privacy(me)).toBeNull();
        await storage.relationships.putPrivacy({ userId: me, dmPolicy: 0, updatedAt: now });
        await storage.relationships.putPrivacy({ userId: me, dmPolicy: 2, updatedAt: now + 5 });
        expect(await storage.relationships.privacy(me)).toEqual({
          userId: me,
          dmPolicy: 2,
          updatedAt: now + 5,
        });
      });
    });

    describe('reports', () => {
      it("lists every report or one guild's, newest first, paged by before", async () => {
        const guildId = id();
        const report = (guild: string | null, reason: string) => ({
          id: id(),
          reporterId: id(),
          reason,
          guildId: guild,
          channelId: guild === null ? null : id(),
          messageId: guild === null ? null : id(),
          targetUserId: id(),
        });
        const mine = [report(guildId, 'a'), report(guildId, 'b'), report(guildId, 'c')];
        const other = report(id(), 'elsewhere');
        const userOnly = report(null, 'a user');
        for (const r of [mine[0], other, mine[1], userOnly, mine[2]]) await storage.reports.create(r);
        const newest = [...mine].reverse();
        expect(await storage.reports.listReports({ guildId, limit: 10 })).toEqual(newest);
        expect(await storage.reports.listReports({ guildId, limit: 2 })).toEqual(newest.slice(0, 2));
        expect(await storage.reports.listReports({ guildId, limit: 2, before: newest[1].id })).toEqual([
          newest[2],
        ]);
        const all = await storage.reports.listReports({ limit: 5 });
        // Ids (report times) were minted in the order: mine, other, userOnly.
        expect(all).toEqual([userOnly, other, ...newest]);
        expect(await storage.reports.listReports({ limit: 2, before: userOnly.id })).toEqual([
          other,
          newest[0],
        ]);
      });
    });

    describe('bans', () => {
      it('puts, finds, pages, replaces and deletes', async () => {
        const guildId = id();
        const userIds = [id(), early.next(), id()];
        for (const userId of userIds)
          await storage.bans.put({ guildId, userId, reason: 'spam', createdAt: now });
        const all = sorted(userIds);
        expect(await storage.bans.find(guildId, all[0])).toEqual({
          guildId,
          userId: all[0],
          reason: 'spam',
          createdAt: now,
        });
        expect(await storage.bans.find(guildId, id())).toBeNull();

        const first = await storage.bans.list(guildId, { limit: 2 });
        expect(first.map((b) => b.userId)).toEqual(all.slice(0, 2));
        expect(
          (await storage.bans.list(guildId, { limit: 2, after: first[1].userId })).map((b) => b.userId),
        ).toEqual(all.slice(2));

        await storage.bans.put({ guildId, userId: all[0], reason: null, createdAt: now + 1 });
        expect(await storage.bans.find(guildId, all[0])).toEqual({
          guildId,
          userId: all[0],
          reason: null,
          createdAt: now + 1,
        });
        await storage.bans.delete(guildId, all[0]);
        expect(await storage.bans.find(guildId, all[0])).toBeNull();
        expect(await storage.bans.list(guildId, { limit: 10 })).toHaveLength(2);
      });

      it('pages many bans in user id order with after and before (before wins), each page ascending', async () => {
        const guildId = id();
        const userIds = [...ids(50), ...Array.from({ length: 10 }, () => early.next())];
        await Promise.all(
          userIds.map((userId) => storage.bans.put({ guildId, userId, reason: null, createdAt: now })),
        );
        await storage.bans.put({ guildId: id(), userId: userIds[0], reason: null, createdAt: now });
        const all = sorted(userIds);
        const userIdsOf = (bans: { userId: string }[]): string[] => bans.map((b) => b.userId);

        const forward: string[] = [];
        let after: string | undefined;
        for (let pages = 0; pages < 20; pages++) {
          const page = userIdsOf(await storage.bans.list(guildId, { limit: 9, after }));
          if (page.length === 0) break;
          forward.push(...page);
          after = page[page.length - 1];
        }
        expect(forward).toEqual(all);
        expect(userIdsOf(await storage.bans.list(guildId, { limit: 1000 }))).toEqual(all);

        const backward: string[] = [];
        let before: string | undefined = (BigInt(all[all.length - 1]) + 1n).toString();
        for (let pages = 0; pages < 20; pages++) {
          const page = userIdsOf(await storage.bans.list(guildId, { limit: 9, before }));
          if (page.length === 0) break;
          expect(page).toEqual(sorted(page));
          backward.unshift(...page);
          before = page[0];
        }
        expect(backward).toEqual(all);
        expect(
          userIdsOf(await storage.bans.list(guildId, { limit: 5, before: all[30], after: all[2] })),
        ).toEqual(all.slice(25, 30));
      });
    });

    describe('emojis', () => {
      const emoji = (guildId: string, overrides: Partial<EmojiRecord> = {}): EmojiRecord => ({
        guildId,
        id: id(),
        name: 'party_parrot',
        roles: [],
        userId: id(),
        animated: false,
        ...overrides,
      });

      it('creates, lists in id order, finds, renames, restricts and deletes', async () => {
        const guildId = id();
        const role = id();
        const a = emoji(guildId, { animated: true });
        const b = emoji(guildId, { roles: [role], userId: null });
        await storage.emojis.create(b);
        await storage.emojis.create(a);
        expect(await storage.emojis.list(guildId)).toEqual([a, b]);
        expect(await storage.emojis.find(guildId, b.id)).toEqual(b);
        // Keyed by guild: the id under another guild is unknown.
        expect(await storage.emojis.find(id(), a.id)).toBeNull();

        await storage.emojis.update(guildId, a.id, { name: 'parrot' });
        await storage.emojis.update(guildId, b.id, { roles: [] });
        expect(await storage.emojis.list(guildId)).toEqual([
          { ...a, name: 'parrot' },
          { ...b, roles: [] },
        ]);

        await storage.emojis.delete(guildId, a.id);
        expect(await storage.emojis.find(guildId, a.id)).toBeNull();
        expect(await storage.emojis.list(guildId)).toEqual([{ ...b, roles: [] }]);
      });

      it('allows the same name twice in a guild (as Discord does)', async () => {
        const guildId = id();
        const first = emoji(guildId, { name: 'same' });
        const second = emoji(guildId, { name: 'same' });
        await storage.emojis.create(first);
        await storage.emojis.create(second);
        expect((await storage.emojis.list(guildId)).map((e) => e.id)).toEqual([first.id, second.id]);
      });

      it('never brings back a deleted emoji by updating it', async () => {
        const guildId = id();
        const e = emoji(guildId);
        await storage.emojis.create(e);
        await storage.emojis.delete(guildId, e.id);
        await storage.emojis.update(guildId, e.id, { name: 'ghost', roles: [id()] });
        expect(await storage.emojis.find(guildId, e.id)).toBeNull();
        expect(await storage.emojis.list(guildId)).toEqual([]);
      });
    });

    describe('attachments', () => {
      const attachment = (channelId: string, uploaderId: string, overrides: Partial<AttachmentRecord> = {}) =>
        ({
          id: id(),
          channelId,
          uploaderId,
          messageId: null,
          filename: 'cat picture.png',
          size: 1234,
          contentType: 'image/png',
          width: 640,
          height: 480,
          createdAt: now,
          ...overrides,
        }) satisfies AttachmentRecord;

      it('stores, finds and idempotently re-creates an attachment', async () => {
        const a = attachment(id(), id(), { width: null, height: null, contentType: 'application/pdf' });
        await storage.attachments.create(a);
        await storage.attachments.create(a);
        expect(await storage.attachments.find(a.id)).toEqual(a);
        expect(await storage.attachments.find(id())).toBeNull();
      });

      it('attaches only an unattached upload of the same channel and uploader, once', async () => {
        const [channelId, uploaderId, messageId, otherMessage] = ids(4);
        const a = attachment(channelId, uploaderId);
        await storage.attachments.create(a);
        const claim = { channelId, uploaderId, messageId };
        expect(await storage.attachments.attach(a.id, { ...claim, channelId: id() })).toBe(false);
        expect(await storage.attachments.attach(a.id, { ...claim, uploaderId: id() })).toBe(false);
        expect(await storage.attachments.attach(id(), claim)).toBe(false);
        expect(await storage.attachments.find(a.id)).toMatchObject({ messageId: null });

        const racing = await Promise.all([
          storage.attachments.attach(a.id, claim),
          storage.attachments.attach(a.id, { ...claim, messageId: otherMessage }),
        ]);
        expect(racing.filter(Boolean)).toHaveLength(1);
        const winner = racing[0] ? messageId : otherMessage;
        expect(await storage.attachments.find(a.id)).toMatchObject({ messageId: winner });

        // Only the claiming message can release it.
        const loser = winner === messageId ? otherMessage : messageId;
        await storage.attachments.detach(a.id, loser);
        expect(await storage.attachments.find(a.id)).toMatchObject({ messageId: winner });
        await storage.attachments.detach(a.id, winner);
        expect(await storage.attachments.find(a.id)).toMatchObject({ messageId: null });
        expect(await storage.attachments.attach(a.id, claim)).toBe(true);
      });

      it('lists unclaimed uploads older than a time, page by page, and deletes only still-unclaimed ones', async () => {
        const [channelId, uploaderId, messageId] = ids(3);
        // Created "long ago", so uploads of other tests (created now) fall after the cut.
        const old = Array.from({ length: 5 }, (_, i) =>
          attachment(channelId, uploaderId, { createdAt: 1000 + i }),
        );
        const claimed = attachment(channelId, uploaderId, { createdAt: 1000 });
        const recent = attachment(channelId, uploaderId, { createdAt: 5000 });
        for (const a of [...old, claimed, recent]) await storage.attachments.create(a);
        expect(await storage.attachments.attach(claimed.id, { channelId, uploaderId, messageId })).toBe(true);

        const seen: AttachmentRecord[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const page: { attachments: AttachmentRecord[]; cursor: string | null } =
            await storage.attachments.listUnclaimed(2000, { limit: 2, cursor });
          expect(page.attachments.length).toBeLessThanOrEqual(2);
          seen.push(...page.attachments);
          cursor = page.cursor;
          pages++;
        } while (cursor !== null && pages < 100_000);
        const mine = seen.filter((a) => a.channelId === channelId);
        expect(sorted(mine.map((a) => a.id))).toEqual(sorted(old.map((a) => a.id)));
        expect(mine.find((a) => a.id === old[0].id)).toEqual(old[0]);
        for (const a of seen) {
          expect(a.messageId).toBeNull();
          expect(a.createdAt).toBeLessThan(2000);
        }

        // One of them is claimed by a message after the listing: it is not deleted.
        expect(await storage.attachments.attach(old[0].id, { channelId, uploaderId, messageId })).toBe(true);
        const deleted = await storage.attachments.deleteUnclaimed([
          ...old.map((a) => a.id),
          claimed.id,
          id(),
        ]);
        expect(sorted(deleted)).toEqual(sorted(old.slice(1).map((a) => a.id)));
        expect(await storage.attachments.find(old[0].id)).toMatchObject({ messageId });
        expect(await storage.attachments.find(old[1].id)).toBeNull();
        expect(await storage.attachments.find(claimed.id)).toMatchObject({ messageId });
        expect(await storage.attachments.find(recent.id)).toEqual(recent);
        expect(sorted(idsOf(await storage.attachments.listByChannel(channelId, { limit: 10 })))).toEqual(
          sorted([old[0].id, claimed.id, recent.id]),
        );
        expect(await storage.attachments.deleteUnclaimed([])).toEqual([]);

        // A message claiming an upload while the sweep deletes it: exactly one of them wins.
        const racer = attachment(channelId, uploaderId, { createdAt: 1000 });
        await storage.attachments.create(racer);
        const [attached, removed] = await Promise.all([
          storage.attachments.attach(racer.id, { channelId, uploaderId, messageId }),
          storage.attachments.deleteUnclaimed([racer.id]),
        ]);
        expect(attached).toBe(removed.length === 0);
        expect(await storage.attachments.find(racer.id)).toEqual(attached ? { ...racer, messageId } : null);
      });

      it('lists a channel in id order by pages and deletes by ids', async () => {
        const [channelId, uploaderId] = ids(2);
        const early1 = attachment(channelId, uploaderId, { id: early.next() });
        const all = [early1, ...Array.from({ length: 4 }, () => attachment(channelId, uploaderId))];
        await storage.attachments.create(attachment(id(), uploaderId)); // another channel
        for (const a of [...all].reverse()) await storage.attachments.create(a);
        const first = await storage.attachments.listByChannel(channelId, { limit: 3 });
        expect(first.map((a) => a.id)).toEqual(sorted(all.map((a) => a.id)).slice(0, 3));
        const rest = await storage.attachments.listByChannel(channelId, { limit: 3, after: first[2].id });
        expect([...first, ...rest].map((a) => a.id)).toEqual(sorted(all.map((a) => a.id)));

        await storage.attachments.delete(all.slice(0, 2).map((a) => a.id));
        await storage.attachments.delete([]);
        expect(await storage.attachments.find(all[0].id)).toBeNull();
        expect(await storage.attachments.listByChannel(channelId, { limit: 10 })).toHaveLength(3);
      });

      it('pages a channel whose files span many time buckets in id order, and purges it page by page', async () => {
        const [channelId, uploaderId] = ids(2);
        const day = 24 * 60 * 60 * 1000;
        // Ids minted 1, 15, 30 and 200 days after the epoch, and now: a driver bucketing by time sees 5 buckets.
        const at = (ms: number, n: number): string[] => {
          const gen = new SnowflakeGenerator(3, 5, () => snowflakeEpoch() + ms);
          return Array.from({ length: n }, () => gen.next());
        };
        const fileIds = [
          ...at(day, 2),
          ...at(15 * day, 3),
          ...at(30 * day, 1),
          ...at(200 * day, 3),
          ...ids(3),
        ];
        for (const fileId of fileIds)
          await storage.attachments.create(attachment(channelId, uploaderId, { id: fileId }));
        const seen: string[] = [];
        let after: string | undefined;
        for (let pages = 0; pages < 20; pages++) {
          const page = await storage.attachments.listByChannel(channelId, { limit: 4, after });
          if (page.length === 0) break;
          seen.push(...idsOf(page));
          after = page[page.length - 1].id;
        }
        expect(seen).toEqual(sorted(fileIds));
        // As media.purge_channels does: list from the cursor past what it deleted.
        after = undefined;
        for (let pages = 0; pages < 20; pages++) {
          const page = await storage.attachments.listByChannel(channelId, { limit: 5, after });
          if (page.length === 0) break;
          await storage.attachments.delete(idsOf(page));
          after = page[page.length - 1].id;
        }
        expect(await storage.attachments.listByChannel(channelId, { limit: 100 })).toEqual([]);
        expect(await storage.attachments.find(fileIds[4])).toBeNull();
      });

      it("keeps each uploader's usage as attachments are created and deleted on every path", async () => {
        const [channelId, uploaderId, otherUploader, messageId] = ids(4);
        expect(await storage.attachments.usage(uploaderId)).toBe(0);
        const files = [100, 250, 4000, 7].map((size) =>
          attachment(channelId, uploaderId, { size, createdAt: 1000 }),
        );
        for (const a of files) await storage.attachments.create(a);
        await storage.attachments.create(files[0]); // a retried upload counts once
        await storage.attachments.create(attachment(channelId, otherUploader, { size: 999 }));
        expect(await storage.attachments.usage(uploaderId)).toBe(4357);
        expect(await storage.attachments.usage(otherUploader)).toBe(999);

        // Claiming changes nothing; a delete (message or channel cleanup) frees the file's bytes, once.
        expect(await storage.attachments.attach(files[1].id, { channelId, uploaderId, messageId })).toBe(
          true,
        );
        expect(await storage.attachments.usage(uploaderId)).toBe(4357);
        await Promise.all([
          storage.attachments.delete([files[1].id]),
          storage.attachments.delete([files[1].id]),
        ]);
        expect(await storage.attachments.usage(uploaderId)).toBe(4107);
        await storage.attachments.delete([files[1].id, id()]);
        expect(await storage.attachments.usage(uploaderId)).toBe(4107);

        // The unattached-upload sweep frees what it deleted, and only that.
        expect(await storage.attachments.attach(files[2].id, { channelId, uploaderId, messageId })).toBe(
          true,
        );
        const swept = await storage.attachments.deleteUnclaimed([files[0].id, files[2].id, files[3].id]);
        expect(sorted(swept)).toEqual(sorted([files[0].id, files[3].id]));
        await storage.attachments.deleteUnclaimed([files[0].id]);
        expect(await storage.attachments.usage(uploaderId)).toBe(4000);
        await storage.attachments.delete([files[2].id]);
        expect(await storage.attachments.usage(uploaderId)).toBe(0);
        expect(await storage.attachments.usage(otherUploader)).toBe(999);
      });
    });

    describe('jobs', () => {
      // Jobs are global to the store, so each test drains what it claims.
      const job = (runAt: number, name = 'purge-channel') => ({
        id: id(),
        name,
        payload: JSON.stringify({ channelId: id() }),
        attempts: 0,
        runAt,
        lastError: null,
      });
      const t0 = now + 1_000_000;

      it('leases due jobs, counting the attempt, until the lease runs out', async () => {
        const before = await storage.jobs.counts();
        const [due1, due2, later] = [job(t0 - 10), job(t0), job(t0 + 10_000)];
        for (const j of [due1, due2, later]) await storage.jobs.enqueue(j);
        expect(await storage.jobs.counts()).toEqual({ pending: before.pending + 3, dead: before.dead });

        const claimed = await storage.jobs.claim(t0, 10, 5_000);
        expect(claimed.map((j) => j.id).sort()).toEqual([due1.id, due2.id].sort());
        for (const j of claimed) {
          expect(j).toMatchObject({ attempts: 1, runAt: t0 + 5_000, lastError: null });
          expect([due1, due2].find((d) => d.id === j.id)).toMatchObject({ name: j.name, payload: j.payload });
        }
        expect(await storage.jobs.claim(t0 + 4_999, 10, 5_000)).toEqual([]);

        // The worker died: the lease runs out and the job is due again.
        const again = await storage.jobs.claim(t0 + 5_000, 10, 5_000);
        expect(again.map((j) => j.id).sort()).toEqual([due1.id, due2.id].sort());
        expect(again.every((j) => j.attempts === 2)).toBe(true);

        for (const j of again) await storage.jobs.complete(j.id);
        const last = await storage.jobs.claim(t0 + 10_000, 10, 5_000);
        expect(last.map((j) => j.id)).toEqual([later.id]);
        await storage.jobs.complete(later.id);
        expect(await storage.jobs.counts()).toEqual(before);
      });

      it('stores the jobs that follow a message with it (messages.create)', async () => {
        const channelId = id();
        const m = message(channelId);
        const follow = [job(t0 + 50_000, 'messages.unfurl'), job(t0 + 50_000, 'notifications.message')];
        await storage.messages.create(m, follow);
        expect(await storage.messages.find(channelId, m.id)).toMatchObject({ id: m.id });
        const claimed = await storage.jobs.claim(t0 + 50_000, 10, 1_000);
        expect(claimed.map((j) => j.id).sort()).toEqual(follow.map((j) => j.id).sort());
        expect(claimed.every((j) => j.attempts === 1)).toBe(true);
        for (const j of claimed) await storage.jobs.complete(j.id);
      });

      it('claims no more than the limit', async () => {
        const jobs = [job(t0 + 20_000), job(t0 + 20_001), job(t0 + 20_002)];
        for (const j of jobs) await storage.jobs.enqueue(j);
        const first = await storage.jobs.claim(t0 + 20_002, 2, 1_000);
        expect(first).toHaveLength(2);
        const rest = await storage.jobs.claim(t0 + 20_002, 2, 1_000);
        expect([...first, ...rest].map((j) => j.id).sort()).toEqual(jobs.map((j) => j.id).sort());
        for (const j of jobs) await storage.jobs.complete(j.id);
      });

      it('retries a failed job at retryAt and sets it aside as dead without one', async () => {
        const before = await storage.jobs.counts();
        const j = job(t0 + 30_000);
        await storage.jobs.enqueue(j);
        expect(await storage.jobs.claim(t0 + 30_000, 10, 1_000)).toHaveLength(1);

        await storage.jobs.fail(j.id, 'boom', t0 + 40_000);
        expect(await storage.jobs.claim(t0 + 39_999, 10, 1_000)).toEqual([]);
        const retried = await storage.jobs.claim(t0 + 40_000, 10, 1_000);
        expect(retried).toEqual([{ ...j, attempts: 2, runAt: t0 + 41_000, lastError: 'boom' }]);

        await storage.jobs.fail(j.id, 'boom again', null);
        expect(await storage.jobs.counts()).toEqual({ pending: before.pending, dead: before.dead + 1 });
        expect(await storage.jobs.claim(t0 + 1_000_000_000, 10, 1_000)).toEqual([]);
      });
    });

    describeBulkContract(() => storage);
    describeSearchContract(() => storage);
  });
}
