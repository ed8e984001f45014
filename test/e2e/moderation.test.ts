import { GatewayClient } from '../support/clients';
import { waitFor, waitUntilPasses } from '../support/wait';
import { Client, type ServerProcess, startServer, tempDir } from './harness';

const VIEW_AUDIT_LOG = 1n << 7n;
const MODERATE_MEMBERS = 1n << 40n;
const KICK_MEMBERS = 1n << 1n;
const reason = (text: string) => ({ headers: { 'x-audit-log-reason': encodeURIComponent(text) } });

/** Moderation end to end (docs/moderation.md): the audit log and timeouts, over real HTTP and the gateway. */
describe('moderation (monolith on SQLite)', () => {
  const dir = tempDir();
  let server: ServerProcess;
  let owner: Client;
  let mod: Client;
  let bob: Client;
  let carol: Client;
  let modUser: { id: string };
  let bobUser: { id: string };
  let carolUser: { id: string };
  let guildId: string;
  let textId: string;
  let voiceId: string;
  let modRoleId: string;

  const join = async (client: Client) => {
    const invite = await owner.post(`/channels/${textId}/invites`, {});
    expect((await client.post(`/invites/${invite.body.code}`)).status).toBe(200);
  };

  /** The audit log as the owner sees it, once `check` holds (entries are written after the response). */
  const auditLog = (query: string, check: (entries: any[]) => boolean) =>
    waitFor(async () => {
      const res = await owner.get(`/guilds/${guildId}/audit-logs${query}`);
      expect(res.status).toBe(200);
      return check(res.body.audit_log_entries) ? res.body : null;
    }, `the audit log${query} shows the entry`);

  beforeAll(async () => {
    server = await startServer({
      PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
      PARLEY__RATE_LIMITS__ENABLED: 'false',
    });
    [owner, mod, bob, carol] = [0, 1, 2, 3].map(() => new Client(server.url));
    await owner.register('owner');
    modUser = await mod.register('moderator');
    bobUser = await bob.register('bob');
    carolUser = await carol.register('carol');
    const guild = await owner.post('/guilds', { name: 'Moderated' });
    guildId = guild.body.id;
    textId = guild.body.channels.find((c: { type: number }) => c.type === 0).id;
    voiceId = (await owner.post(`/guilds/${guildId}/channels`, { name: 'voice', type: 2 })).body.id;
    await Promise.all([join(mod), join(bob), join(carol)]);
    const role = await owner.post(`/guilds/${guildId}/roles`, {
      name: 'mods',
      permissions: (VIEW_AUDIT_LOG | MODERATE_MEMBERS | KICK_MEMBERS).toString(),
      position: 1,
    });
    modRoleId = role.body.id;
    expect(
      (await owner.patch(`/guilds/${guildId}/members/${modUser.id}`, { roles: [modRoleId] })).status,
    ).toBe(200);
  });

  afterAll(async () => {
    await server?.stop();
    dir.remove();
  });

  describe('audit log', () => {
    it('records admin actions with actor, target, changes and the X-Audit-Log-Reason', async () => {
      const renamed = await owner.request(
        'PATCH',
        `/channels/${textId}`,
        { name: 'renamed' },
        reason('tidy up: names'),
      );
      expect(renamed.status).toBe(200);
      const page = await auditLog('?action_type=11', (e) => e.length === 1);
      expect(page.audit_log_entries[0]).toMatchObject({
        action_type: 11,
        target_id: textId,
        reason: 'tidy up: names',
        changes: [{ key: 'name', old_value: 'general', new_value: 'renamed' }],
      });
      expect(page.users.map((u: { username: string }) => u.username)).toContain('owner');
      // The role created and assigned in beforeAll are there too, newest first.
      const all = await auditLog('', (e) => e.some((x) => x.action_type === 25));
      const types = all.audit_log_entries.map((e: { action_type: number }) => e.action_type);
      expect(types.indexOf(11)).toBeLessThan(types.indexOf(25));
      expect(types.indexOf(25)).toBeLessThan(types.indexOf(30));
      expect(all.audit_log_entries.find((e: any) => e.action_type === 25)).toMatchObject({
        target_id: modUser.id,
        changes: [{ key: '$add', new_value: [{ id: modRoleId }] }],
      });
    });

    it('records kicks and bans with their reasons, filters by user and pages with before', async () => {
      const dave = new Client(server.url);
      const daveUser = await dave.register('dave');
      await join(dave);
      expect(
        (await mod.request('DELETE', `/guilds/${guildId}/members/${daveUser.id}`, undefined, reason('spam')))
          .status,
      ).toBe(204);
      expect(
        (await owner.request('PUT', `/guilds/${guildId}/bans/${daveUser.id}`, {}, reason('more spam')))
          .status,
      ).toBe(204);
      const kicks = await auditLog(`?user_id=${modUser.id}`, (e) => e.some((x) => x.action_type === 20));
      expect(kicks.audit_log_entries.every((e: { user_id: string }) => e.user_id === modUser.id)).toBe(true);
      expect(kicks.audit_log_entries[0]).toMatchObject({
        action_type: 20,
        target_id: daveUser.id,
        reason: 'spam',
      });
      const bans = await auditLog('?action_type=22', (e) => e.length === 1);
      expect(bans.audit_log_entries[0]).toMatchObject({ user_id: expect.any(String), reason: 'more spam' });
      const newest = await auditLog('?limit=2', (e) => e.length === 2);
      const older = await owner.get(
        `/guilds/${guildId}/audit-logs?limit=2&before=${newest.audit_log_entries[1].id}`,
      );
      expect(older.body.audit_log_entries).toHaveLength(2);
      expect(BigInt(older.body.audit_log_entries[0].id)).toBeLessThan(BigInt(newest.audit_log_entries[1].id));
    });

    it('is for VIEW_AUDIT_LOG only and refuses bad filters', async () => {
      expect((await bob.get(`/guilds/${guildId}/audit-logs`)).status).toBe(403);
      expect((await mod.get(`/guilds/${guildId}/audit-logs`)).status).toBe(200);
      const bad = await owner.get(`/guilds/${guildId}/audit-logs?limit=500&user_id=abc`);
      expect(bad.status).toBe(400);
      expect(Object.keys(bad.body.errors).sort()).toEqual(['limit', 'user_id']);
    });

    it('announces new entries to the members who may read the log, not to the others', async () => {
      const modGateway = await GatewayClient.ready(server.gatewayUrl, mod.token!);
      const bobGateway = await GatewayClient.ready(server.gatewayUrl, bob.token!);
      try {
        await owner.patch(`/guilds/${guildId}`, { name: 'Moderated, renamed' });
        const event = await modGateway.next('GUILD_AUDIT_LOG_ENTRY_CREATE', (p) => p.d.action_type === 1);
        expect(event.d).toMatchObject({
          guild_id: guildId,
          target_id: guildId,
          changes: [{ key: 'name', old_value: 'Moderated', new_value: 'Moderated, renamed' }],
        });
        // bob sees the GUILD_UPDATE that came with it, and never the entry.
        await bobGateway.next('GUILD_UPDATE');
        expect(bobGateway.named('GUILD_AUDIT_LOG_ENTRY_CREATE')).toEqual([]);
      } finally {
        modGateway.close();
        bobGateway.close();
      }
    });
  });

  describe('timeouts', () => {
    const path = () => `/guilds/${guildId}/members/${bobUser.id}`;
    const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();

    it('needs MODERATE_MEMBERS, at most 28 days, never on oneself', async () => {
      expect((await carol.patch(path(), { communication_disabled_until: inMs(60_000) })).status).toBe(403);
      const tooLong = await mod.patch(path(), { communication_disabled_until: inMs(29 * 86_400_000) });
      expect(tooLong.status).toBe(400);
      expect(tooLong.body.errors.communication_disabled_until).toBeDefined();
      const notATime = await mod.patch(path(), { communication_disabled_until: 'tomorrow' });
      expect(notATime.status).toBe(400);
      expect(
        (await mod.patch(`/guilds/${guildId}/members/@me`, { communication_disabled_until: inMs(60_000) }))
          .status,
      ).toBe(403);
    });

    it('a timed-out member gets 403 on send, edit, react, typing and voice join, and recovers after expiry', async () => {
      const before = await bob.post(`/channels/${textId}/messages`, { content: 'before the timeout' });
      expect(before.status).toBe(200);
      const messageId = before.body.id;
      const timedOut = await mod.request(
        'PATCH',
        path(),
        { communication_disabled_until: inMs(10 * 60_000) },
        reason('cool down'),
      );
      expect(timedOut.status).toBe(200);
      expect(Date.parse(timedOut.body.communication_disabled_until)).toBeGreaterThan(Date.now());

      const attempts = {
        send: () => bob.post(`/channels/${textId}/messages`, { content: 'during' }),
        edit: () => bob.patch(`/channels/${textId}/messages/${messageId}`, { content: 'edited' }),
        react: () => bob.put(`/channels/${textId}/messages/${messageId}/reactions/%F0%9F%91%8D/@me`),
        typing: () => bob.post(`/channels/${textId}/typing`),
        voice: () => bob.post(`/channels/${voiceId}/voice/join`),
      };
      for (const [name, attempt] of Object.entries(attempts)) {
        const res = await attempt();
        expect({ name, status: res.status, code: res.body?.code }).toEqual({
          name,
          status: 403,
          code: 50013,
        });
      }
      // Still reads.
      expect((await bob.get(`/channels/${textId}/messages?limit=1`)).status).toBe(200);
      const entry = await auditLog('?action_type=24', (e) => e.some((x) => x.target_id === bobUser.id));
      expect(entry.audit_log_entries[0]).toMatchObject({
        user_id: modUser.id,
        reason: 'cool down',
        changes: [
          { key: 'communication_disabled_until', new_value: timedOut.body.communication_disabled_until },
        ],
      });

      // Shortened to end in a moment: nothing lifts it but the clock.
      expect((await mod.patch(path(), { communication_disabled_until: inMs(1500) })).status).toBe(200);
      await waitUntilPasses(async () => {
        expect((await bob.post(`/channels/${textId}/messages`, { content: 'after' })).status).toBe(200);
      }, 30_000);
      expect((await attempts.edit()).status).toBe(200);
      expect((await attempts.react()).status).toBe(204);
      expect((await attempts.typing()).status).toBe(204);
      expect((await bob.get(path())).body.communication_disabled_until).toBeNull();
    });

    it('the owner and administrators cannot be timed out; null lifts a timeout', async () => {
      const admin = await owner.post(`/guilds/${guildId}/roles`, {
        name: 'admins',
        permissions: '8',
        position: 1,
      });
      await owner.patch(`/guilds/${guildId}/members/${carolUser.id}`, { roles: [admin.body.id] });
      const res = await owner.patch(`/guilds/${guildId}/members/${carolUser.id}`, {
        communication_disabled_until: inMs(60_000),
      });
      expect(res.status).toBe(403);
      await owner.patch(`/guilds/${guildId}/members/${carolUser.id}`, { roles: [] });
      await mod.patch(path(), { communication_disabled_until: inMs(60_000) });
      expect((await bob.post(`/channels/${textId}/messages`, { content: 'no' })).status).toBe(403);
      expect((await mod.patch(path(), { communication_disabled_until: null })).status).toBe(200);
      expect((await bob.post(`/channels/${textId}/messages`, { content: 'yes' })).status).toBe(200);
    });
  });

  describe('slowmode', () => {
    it('holds a member to one message per rate_limit_per_user, exempts moderators, and is audited', async () => {
      const slow = await owner.request(
        'POST',
        `/guilds/${guildId}/channels`,
        { name: 'slow', rate_limit_per_user: 300 },
        reason('calm'),
      );
      expect(slow.status).toBe(201);
      expect(slow.body.rate_limit_per_user).toBe(300);
      const send = (c: Client) => c.post(`/channels/${slow.body.id}/messages`, { content: 'hi' });
      expect((await send(carol)).status).toBe(200);
      const refused = await send(carol);
      expect(refused.status).toBe(429);
      expect(refused.body).toMatchObject({ code: 20016, retry_after: expect.any(Number) });
      expect(refused.body.retry_after).toBeGreaterThan(0);
      expect(refused.body.retry_after).toBeLessThanOrEqual(300);
      // Others have their own clock; the owner (MANAGE_MESSAGES) is exempt.
      expect((await send(bob)).status).toBe(200);
      expect((await send(owner)).status).toBe(200);
      expect((await send(owner)).status).toBe(200);
      const changed = await owner.patch(`/channels/${slow.body.id}`, { rate_limit_per_user: 0 });
      expect(changed.body.rate_limit_per_user).toBe(0);
      expect((await send(carol)).status).toBe(200);
      expect((await owner.patch(`/channels/${slow.body.id}`, { rate_limit_per_user: 21_601 })).status).toBe(
        400,
      );
      const audit = await auditLog('?action_type=11', (e) => e.some((x) => x.target_id === slow.body.id));
      expect(audit.audit_log_entries[0].changes).toEqual([
        { key: 'rate_limit_per_user', old_value: 300, new_value: 0 },
      ]);
    });
  });
});
