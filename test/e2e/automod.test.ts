import { GatewayClient } from '../support/clients';
import { waitFor } from '../support/wait';
import { Client, type ServerProcess, startServer, tempDir } from './harness';

/**
 * AutoMod, blocks, DM privacy and reports end to end (docs/moderation.md), over real HTTP and the gateway:
 * a blocked message is refused before it is stored or delivered, the rule's other actions run.
 */
describe('AutoMod, blocks and reports', () => {
  const dir = tempDir();
  let server: ServerProcess;
  let owner: Client;
  let bob: Client;
  let carol: Client;
  let dave: Client;
  let eve: Client;
  let bobUser: { id: string };
  let carolUser: { id: string };
  let daveUser: { id: string };
  let eveUser: { id: string };
  let guildId: string;
  let textId: string;
  let logId: string;
  let wordsRuleId: string;

  const join = async (client: Client) => {
    const invite = await owner.post(`/channels/${textId}/invites`, {});
    expect((await client.post(`/invites/${invite.body.code}`)).status).toBe(200);
  };
  const rules = () => `/guilds/${guildId}/auto-moderation/rules`;
  const keywordRule = (name: string, keywords: string[], actions: unknown[], extra: object = {}) => ({
    name,
    event_type: 1,
    trigger_type: 1,
    trigger_metadata: { keyword_filter: keywords },
    actions,
    enabled: true,
    ...extra,
  });
  const history = async (channelId: string) =>
    (await owner.get(`/channels/${channelId}/messages?limit=100`)).body as {
      content: string;
      type: number;
    }[];

  beforeAll(async () => {
    server = await startServer({
      PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
      PARLEY__RATE_LIMITS__ENABLED: 'false',
    });
    [owner, bob, carol, dave, eve] = [0, 1, 2, 3, 4].map(() => new Client(server.url));
    await owner.register('am_owner');
    bobUser = await bob.register('am_bob');
    carolUser = await carol.register('am_carol');
    daveUser = await dave.register('am_dave');
    eveUser = await eve.register('am_eve');
    const guild = await owner.post('/guilds', { name: 'Guarded' });
    guildId = guild.body.id;
    textId = guild.body.channels.find((c: { type: number }) => c.type === 0).id;
    logId = (await owner.post(`/guilds/${guildId}/channels`, { name: 'mod-log', type: 0 })).body.id;
    await Promise.all([join(bob), join(carol), join(dave)]);
  });

  afterAll(async () => {
    await server?.stop();
    dir.remove();
  });

  describe('rules', () => {
    it("are for MANAGE_GUILD, in Discord's shape, validated, and capped per trigger type", async () => {
      const body = keywordRule(
        'words',
        ['forbidden'],
        [{ type: 1, metadata: { custom_message: 'Not here.' } }],
      );
      expect((await bob.post(rules(), body)).status).toBe(403);
      const created = await owner.post(rules(), body);
      expect(created.status).toBe(200);
      wordsRuleId = created.body.id;
      expect(created.body).toMatchObject({
        id: expect.any(String),
        guild_id: guildId,
        creator_id: expect.any(String),
        name: 'words',
        event_type: 1,
        trigger_type: 1,
        trigger_metadata: { keyword_filter: ['forbidden'], regex_patterns: [], allow_list: [] },
        actions: [{ type: 1, metadata: { custom_message: 'Not here.' } }],
        enabled: true,
        exempt_roles: [],
        exempt_channels: [],
      });
      expect((await owner.get(`${rules()}/${created.body.id}`)).body).toEqual(created.body);
      expect((await owner.get(rules())).body).toEqual([created.body]);

      const badRegex = await owner.post(rules(), {
        ...body,
        trigger_metadata: { regex_patterns: ['(a)\\1'] },
      });
      expect(badRegex.status).toBe(400);
      expect(Object.keys(badRegex.body.errors)).toEqual(['trigger_metadata.regex_patterns.0']);
      const tooLong = await owner.post(rules(), {
        ...body,
        trigger_metadata: { regex_patterns: ['a'.repeat(261)] },
      });
      expect(tooLong.status).toBe(400);
      expect((await owner.post(rules(), { ...body, trigger_type: 4 })).status).toBe(400);
      const timeoutOnSpam = await owner.post(rules(), {
        ...body,
        trigger_type: 3,
        actions: [{ type: 3, metadata: { duration_seconds: 60 } }],
      });
      expect(timeoutOnSpam.status).toBe(400);

      const extra: string[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await owner.post(rules(), keywordRule(`filler ${i}`, [`filler${i}`], [{ type: 1 }]));
        expect(r.status).toBe(200);
        extra.push(r.body.id);
      }
      const seventh = await owner.post(rules(), keywordRule('one too many', ['x'], [{ type: 1 }]));
      expect(seventh.status).toBe(400);
      expect(seventh.body.code).toBe(30035);
      for (const id of extra) expect((await owner.delete(`${rules()}/${id}`)).status).toBe(204);
      expect((await owner.get(`${rules()}/${extra[0]}`)).body.code).toBe(10066);
    });
  });

  describe('enforcement', () => {
    it('a blocked message is refused with 400 code 200000, reaches no session and no storage', async () => {
      const carolGateway = await GatewayClient.ready(server.gatewayUrl, carol.token!);
      const ownerGateway = await GatewayClient.ready(server.gatewayUrl, owner.token!);
      try {
        const refused = await bob.post(`/channels/${textId}/messages`, {
          content: 'this is FORBIDDEN stuff',
        });
        expect(refused.status).toBe(400);
        expect(refused.body).toMatchObject({ code: 200000 });
        expect(refused.body.errors.content[0].message).toBe('Not here.');
        // Whole words only: "forbiddenness" is not the keyword.
        expect((await bob.post(`/channels/${textId}/messages`, { content: 'forbiddenness' })).status).toBe(
          200,
        );
        const after = await bob.post(`/channels/${textId}/messages`, { content: 'clean sentinel' });
        expect(after.status).toBe(200);
        await carolGateway.next('MESSAGE_CREATE', (p) => p.d.id === after.body.id);
        expect(carolGateway.named('MESSAGE_CREATE').map((p) => p.d.content)).not.toContain(
          'this is FORBIDDEN stuff',
        );
        expect((await history(textId)).map((m) => m.content)).not.toContain('this is FORBIDDEN stuff');
        // Those who may MANAGE_GUILD hear of it; bob's session would not (it is on the owner's scope).
        const executed = await ownerGateway.next('AUTO_MODERATION_ACTION_EXECUTION');
        expect(executed.d).toMatchObject({
          guild_id: guildId,
          action: { type: 1 },
          rule_trigger_type: 1,
          user_id: bobUser.id,
          channel_id: textId,
          content: 'this is FORBIDDEN stuff',
          matched_keyword: 'forbidden',
          matched_content: 'FORBIDDEN',
        });
        expect(carolGateway.named('AUTO_MODERATION_ACTION_EXECUTION')).toEqual([]);
        const log = await waitFor(async () => {
          const res = await owner.get(`/guilds/${guildId}/audit-logs?action_type=143`);
          return res.body.audit_log_entries.length > 0 ? res.body.audit_log_entries : null;
        }, 'the block in the audit log');
        expect(log[0]).toMatchObject({
          user_id: null,
          target_id: bobUser.id,
          options: { auto_moderation_rule_name: 'words', channel_id: textId },
        });
      } finally {
        carolGateway.close();
        ownerGateway.close();
      }
    });

    it('an edit into a blocked text is refused and the stored message keeps its content', async () => {
      const sent = await bob.post(`/channels/${textId}/messages`, { content: 'harmless' });
      const edit = await bob.patch(`/channels/${textId}/messages/${sent.body.id}`, {
        content: 'now forbidden',
      });
      expect(edit.status).toBe(400);
      expect(edit.body.code).toBe(200000);
      expect((await owner.get(`/channels/${textId}/messages/${sent.body.id}`)).body.content).toBe('harmless');
    });

    it('members who may MANAGE_GUILD, exempt channels and exempt roles are not checked', async () => {
      expect(
        (await owner.post(`/channels/${textId}/messages`, { content: 'forbidden by owner' })).status,
      ).toBe(200);
      const role = await owner.post(`/guilds/${guildId}/roles`, { name: 'trusted', permissions: '0' });
      const patched = await owner.patch(`${rules()}/${wordsRuleId}`, {
        exempt_channels: [logId],
        exempt_roles: [role.body.id],
      });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ exempt_channels: [logId], exempt_roles: [role.body.id] });
      expect(
        (await bob.post(`/channels/${logId}/messages`, { content: 'forbidden here is fine' })).status,
      ).toBe(200);
      expect((await bob.post(`/channels/${textId}/messages`, { content: 'forbidden' })).status).toBe(400);
      await owner.put(`/guilds/${guildId}/members/${bobUser.id}/roles/${role.body.id}`);
      expect((await bob.post(`/channels/${textId}/messages`, { content: 'forbidden, trusted' })).status).toBe(
        200,
      );
      await owner.delete(`/guilds/${guildId}/members/${bobUser.id}/roles/${role.body.id}`);
      expect((await bob.post(`/channels/${textId}/messages`, { content: 'forbidden' })).status).toBe(400);
    });

    it('an alert action posts a type 24 message in the alert channel; a timeout action times the author out', async () => {
      const rule = await owner.post(
        rules(),
        keywordRule(
          'alert and timeout',
          ['spamlink*'],
          [
            { type: 2, metadata: { channel_id: logId } },
            { type: 3, metadata: { duration_seconds: 120 } },
          ],
        ),
      );
      expect(rule.status).toBe(200);
      // Neither action blocks: the message itself goes through.
      const sent = await dave.post(`/channels/${textId}/messages`, { content: 'visit spamlinks.example' });
      expect(sent.status).toBe(200);
      const alert = await waitFor(
        async () => (await history(logId)).find((m) => m.type === 24) ?? null,
        'the AutoMod alert in #mod-log',
      );
      expect(alert).toMatchObject({
        author: { id: daveUser.id },
        embeds: [
          {
            type: 'auto_moderation_message',
            description: 'visit spamlinks.example',
            fields: expect.arrayContaining([
              expect.objectContaining({ name: 'rule_name', value: 'alert and timeout' }),
              expect.objectContaining({ name: 'keyword', value: 'spamlink*' }),
            ]),
          },
        ],
      });
      const member = await owner.get(`/guilds/${guildId}/members/${daveUser.id}`);
      expect(Date.parse(member.body.communication_disabled_until)).toBeGreaterThan(Date.now());
      const muted = await dave.post(`/channels/${textId}/messages`, { content: 'still here?' });
      expect(muted.status).toBe(403);
      expect(muted.body.code).toBe(50013);
      await waitFor(async () => {
        const res = await owner.get(`/guilds/${guildId}/audit-logs?action_type=145`);
        return res.body.audit_log_entries.length === 1;
      }, 'the AutoMod timeout in the audit log');
      expect((await owner.delete(`${rules()}/${rule.body.id}`)).status).toBe(204);
    });

    it('mention spam: more unique mentions than the limit is blocked', async () => {
      const rule = await owner.post(rules(), {
        name: 'mentions',
        event_type: 1,
        trigger_type: 5,
        trigger_metadata: { mention_total_limit: 2 },
        actions: [{ type: 1 }],
        enabled: true,
      });
      expect(rule.status).toBe(200);
      const two = `<@${carolUser.id}> <@${daveUser.id}> <@${carolUser.id}>`;
      expect((await bob.post(`/channels/${textId}/messages`, { content: two })).status).toBe(200);
      const three = `<@${carolUser.id}> <@${daveUser.id}> <@${eveUser.id}>`;
      const refused = await bob.post(`/channels/${textId}/messages`, { content: three });
      expect(refused.status).toBe(400);
      expect(refused.body.code).toBe(200000);
      expect((await owner.delete(`${rules()}/${rule.body.id}`)).status).toBe(204);
    });

    it('a catastrophic-backtracking regex runs in linear time: the send is answered, the match still blocks', async () => {
      const rule = await owner.post(rules(), {
        name: 'regex',
        event_type: 1,
        trigger_type: 1,
        trigger_metadata: { regex_patterns: ['^(a+)+$'] },
        actions: [{ type: 1 }],
        enabled: true,
      });
      expect(rule.status).toBe(200);
      // On a backtracking engine this input takes longer than the test's timeout (2^1999 paths).
      const evil = `${'a'.repeat(1999)}!`;
      expect((await bob.post(`/channels/${textId}/messages`, { content: evil })).status).toBe(200);
      const plain = await bob.post(`/channels/${textId}/messages`, { content: 'aaaa' });
      expect(plain.status).toBe(400);
      expect((await owner.delete(`${rules()}/${rule.body.id}`)).status).toBe(204);
      expect((await bob.post(`/channels/${textId}/messages`, { content: 'aaaa' })).status).toBe(200);
    });
  });

  describe('blocks and DM privacy', () => {
    it('a blocked user cannot open or send a DM to the blocker (403 50007) until unblocked', async () => {
      const dm = await carol.post('/users/@me/channels', { recipient_id: bobUser.id });
      expect(dm.status).toBe(200);
      expect((await carol.post(`/channels/${dm.body.id}/messages`, { content: 'hi bob' })).status).toBe(200);
      const bobGateway = await GatewayClient.ready(server.gatewayUrl, bob.token!);
      try {
        expect((await bob.put(`/users/@me/relationships/${carolUser.id}`, { type: 1 })).status).toBe(400);
        expect((await bob.put(`/users/@me/relationships/${carolUser.id}`, { type: 2 })).status).toBe(204);
        const added = await bobGateway.next('RELATIONSHIP_ADD');
        expect(added.d).toMatchObject({ id: carolUser.id, type: 2, user: { id: carolUser.id } });
      } finally {
        bobGateway.close();
      }
      expect((await bob.get('/users/@me/relationships')).body).toEqual([
        expect.objectContaining({
          id: carolUser.id,
          type: 2,
          user: expect.objectContaining({ id: carolUser.id }),
        }),
      ]);
      const send = await carol.post(`/channels/${dm.body.id}/messages`, { content: 'are you there?' });
      expect(send.status).toBe(403);
      expect(send.body.code).toBe(50007);
      const open = await carol.post('/users/@me/channels', { recipient_id: bobUser.id });
      expect(open.status).toBe(403);
      expect(open.body.code).toBe(50007);
      // The blocker may still write (Discord lets them), and the block is one-way.
      expect((await bob.post(`/channels/${dm.body.id}/messages`, { content: 'bye' })).status).toBe(200);
      expect((await bob.delete(`/users/@me/relationships/${carolUser.id}`)).status).toBe(204);
      expect((await bob.get('/users/@me/relationships')).body).toEqual([]);
      expect((await carol.post(`/channels/${dm.body.id}/messages`, { content: 'back' })).status).toBe(200);
    });

    it("by default DMs need a shared guild; the recipient's setting relaxes or tightens it", async () => {
      expect((await eve.get('/users/@me/privacy')).body).toEqual({ direct_messages: 'mutual_guilds' });
      const refused = await bob.post('/users/@me/channels', { recipient_id: eveUser.id });
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe(50007);
      expect((await eve.patch('/users/@me/privacy', { direct_messages: 'everyone' })).body).toEqual({
        direct_messages: 'everyone',
      });
      const opened = await bob.post('/users/@me/channels', { recipient_id: eveUser.id });
      expect(opened.status).toBe(200);
      // "nobody" refuses new conversations only: the open one stays.
      await eve.patch('/users/@me/privacy', { direct_messages: 'nobody' });
      expect((await bob.post('/users/@me/channels', { recipient_id: eveUser.id })).status).toBe(200);
      expect((await carol.post('/users/@me/channels', { recipient_id: eveUser.id })).body.code).toBe(50007);
      expect((await eve.patch('/users/@me/privacy', { direct_messages: 'maybe' })).status).toBe(400);
    });
  });

  describe('reports', () => {
    it("are stored and listed for the guild's moderators (MANAGE_GUILD), newest first", async () => {
      const msg = await bob.post(`/channels/${textId}/messages`, { content: 'report me' });
      const report = await carol.post('/reports', {
        reason: 'rude',
        channel_id: textId,
        message_id: msg.body.id,
      });
      expect(report.status).toBe(200);
      expect(report.body).toMatchObject({
        reporter_id: carolUser.id,
        reason: 'rude',
        guild_id: guildId,
        channel_id: textId,
        message_id: msg.body.id,
        user_id: bobUser.id,
      });
      const userReport = await carol.post('/reports', {
        reason: 'spammer',
        user_id: bobUser.id,
        guild_id: guildId,
      });
      expect(userReport.status).toBe(200);
      expect((await carol.post('/reports', { reason: 'x' })).status).toBe(400);
      // The contract's bare form: the message id alone (no channel to check it in) reaches the instance admins.
      const bare = await carol.post('/reports', { reason: 'bare', message_id: msg.body.id });
      expect(bare.status).toBe(200);
      expect(bare.body).toMatchObject({
        message_id: msg.body.id,
        channel_id: null,
        guild_id: null,
        user_id: null,
      });
      expect(
        (await eve.post('/reports', { reason: 'x', channel_id: textId, message_id: msg.body.id })).status,
      ).toBe(404);
      expect((await bob.get(`/guilds/${guildId}/reports`)).status).toBe(403);
      const listed = await owner.get(`/guilds/${guildId}/reports`);
      expect(listed.status).toBe(200);
      expect(listed.body.map((r: { id: string }) => r.id)).toEqual([userReport.body.id, report.body.id]);
      expect((await owner.get(`/guilds/${guildId}/reports?before=${userReport.body.id}`)).body).toEqual([
        report.body,
      ]);
    });
  });
});
