import { DISCORD_EPOCH } from '@parley/common';
import { GatewayClient } from '../support/clients';
import { waitUntilPasses } from '../support/wait';
import { backendName, Client, type ServerProcess, startServer, tempDir } from './harness';

/** The chat REST API end to end, over real HTTP against the compiled monolith on a real SQLite file. */
describe('REST chat API (monolith on SQLite)', () => {
  const dir = tempDir();
  let server: ServerProcess;
  let owner: Client;
  let bob: Client;
  let carol: Client;
  let ownerUser: { id: string };
  let bobUser: { id: string };
  let carolUser: { id: string };
  let guildId: string;
  let generalId: string;

  beforeAll(async () => {
    server = await startServer({
      PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
      PARLEY__RATE_LIMITS__ENABLED: 'false',
    });
    owner = new Client(server.url);
    bob = new Client(server.url);
    carol = new Client(server.url);
    ownerUser = await owner.register('owner');
    bobUser = await bob.register('bob');
    carolUser = await carol.register('carol');
  });

  afterAll(async () => {
    await server?.stop();
    dir.remove();
  });

  describe('accounts', () => {
    it('registers with 201 and a token, and refuses a taken username case-insensitively with 409', async () => {
      const c = new Client(server.url);
      const res = await c.post('/auth/register', {
        username: 'Dave.K',
        email: 'dave@example.test',
        password: 'password123',
      });
      expect(res.status).toBe(201);
      expect(typeof res.body.token).toBe('string');
      expect(res.body.user).toMatchObject({ username: 'Dave.K', email: 'dave@example.test' });
      const dup = await c.post('/auth/register', {
        username: 'dave.k',
        email: 'other@example.test',
        password: 'password123',
      });
      expect(dup.status).toBe(409);
      expect(dup.body).toMatchObject({ code: expect.any(Number), message: expect.any(String) });
      const dupEmail = await c.post('/auth/register', {
        username: 'dave2',
        email: 'DAVE@example.test',
        password: 'password123',
      });
      expect(dupEmail.status).toBe(409);
    });

    it('validates registration fields with per-field errors', async () => {
      const c = new Client(server.url);
      const res = await c.post('/auth/register', { username: 'x', email: 'not-an-email', password: 'short' });
      expect(res.status).toBe(400);
      expect(Object.keys(res.body.errors).sort()).toEqual(['email', 'password', 'username']);
      expect(res.body.errors.username[0]).toMatchObject({
        code: expect.any(String),
        message: expect.any(String),
      });
      const bad = await c.post('/auth/register', {
        username: 'bad name!',
        email: 'a@b.test',
        password: 'password123',
      });
      expect(bad.status).toBe(400);
      const wrongType = await c.post('/auth/register', {
        username: 42,
        email: 'a@b.test',
        password: 'password123',
      });
      expect(wrongType.status).toBe(400);
      expect(wrongType.body.errors.username).toBeDefined();
    });

    it('logs in by username or email and answers 401 the same way for a bad user or password', async () => {
      const c = new Client(server.url);
      const byName = await c.post('/auth/login', { login: 'OWNER', password: 'correct horse battery' });
      expect(byName.status).toBe(200);
      expect(byName.body.user.id).toBe(ownerUser.id);
      const byEmail = await c.post('/auth/login', {
        login: 'owner@example.test',
        password: 'correct horse battery',
      });
      expect(byEmail.status).toBe(200);
      const badPassword = await c.post('/auth/login', { login: 'owner', password: 'wrong password' });
      const badUser = await c.post('/auth/login', { login: 'nobody', password: 'wrong password' });
      expect(badPassword.status).toBe(401);
      expect(badUser.status).toBe(401);
      expect(badPassword.body.message).toBe(badUser.body.message);
    });

    it('serves @me, public users and profile edits', async () => {
      const me = await bob.get('/users/@me');
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ id: bobUser.id, username: 'bob', email: 'bob@example.test' });
      const pub = await owner.get(`/users/${bobUser.id}`);
      expect(pub.status).toBe(200);
      expect(pub.body).toEqual({ id: bobUser.id, username: 'bob', display_name: null, avatar: null });
      const patched = await bob.patch('/users/@me', { display_name: 'Bob B.' });
      expect(patched.status).toBe(200);
      expect(patched.body.display_name).toBe('Bob B.');
      const unknownField = await bob.patch('/users/@me', { email_verified: true });
      expect(unknownField.status).toBe(400);
      expect((await owner.get('/users/123456789')).status).toBe(404);
      expect((await owner.get('/users/not-an-id')).status).toBe(404);
    });

    it('refuses missing and malformed tokens with 401', async () => {
      const anon = new Client(server.url);
      expect((await anon.get('/users/@me')).status).toBe(401);
      anon.token = 'garbage';
      const res = await anon.get('/users/@me');
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ code: 40001, message: expect.any(String) });
    });
  });

  describe('guilds, channels, invites', () => {
    it('creates a guild with @everyone and #general, owned by the caller', async () => {
      const res = await owner.post('/guilds', { name: 'Parley HQ' });
      expect(res.status).toBe(201);
      guildId = res.body.id;
      expect(res.body.owner_id).toBe(ownerUser.id);
      expect(res.body.roles).toEqual([expect.objectContaining({ id: guildId, name: '@everyone' })]);
      expect(res.body.channels).toEqual([expect.objectContaining({ name: 'general', type: 0 })]);
      generalId = res.body.channels[0].id;
      const mine = await owner.get('/users/@me/guilds');
      expect(mine.body.map((g: { id: string }) => g.id)).toContain(guildId);
    });

    it('hides the guild from non-members with 404', async () => {
      expect((await bob.get(`/guilds/${guildId}`)).status).toBe(404);
      expect((await bob.get(`/channels/${generalId}/messages`)).status).toBe(404);
      expect((await bob.post(`/channels/${generalId}/messages`, { content: 'hi' })).status).toBe(404);
    });

    it('invites: create, preview without a token, join, list; the member sees the guild', async () => {
      const invite = await owner.post(`/channels/${generalId}/invites`, {});
      expect(invite.status).toBe(201);
      expect(invite.body).toMatchObject({ max_age: 86400, max_uses: 0, uses: 0, guild: { id: guildId } });
      const code = invite.body.code as string;
      const preview = await new Client(server.url).get(`/invites/${code}`);
      expect(preview.status).toBe(200);
      expect(preview.body.guild.name).toBe('Parley HQ');
      expect((await bob.post(`/invites/${code}`)).status).toBe(200);
      expect((await carol.post(`/invites/${code}`)).status).toBe(200);
      expect((await bob.get(`/guilds/${guildId}`)).status).toBe(200);
      const list = await owner.get(`/guilds/${guildId}/invites`);
      expect(list.body).toEqual([expect.objectContaining({ code, uses: 2 })]);
      expect((await bob.get(`/guilds/${guildId}/invites`)).status).toBe(403);
    });

    it('honours max_uses and deletion of invites', async () => {
      const once = await owner.post(`/channels/${generalId}/invites`, { max_uses: 1, max_age: 0 });
      expect(once.body.expires_at).toBeNull();
      const dave = new Client(server.url);
      await dave.register('dave_once');
      const erin = new Client(server.url);
      await erin.register('erin_once');
      expect((await dave.post(`/invites/${once.body.code}`)).status).toBe(200);
      expect((await erin.post(`/invites/${once.body.code}`)).status).toBe(404);
      const other = await owner.post(`/channels/${generalId}/invites`, {});
      expect((await bob.delete(`/invites/${other.body.code}`)).status).toBe(403);
      expect((await owner.delete(`/invites/${other.body.code}`)).status).toBe(200);
      expect((await erin.post(`/invites/${other.body.code}`)).status).toBe(404);
      expect((await erin.get('/invites/does-not-exist')).status).toBe(404);
    });

    it('lists members with limit/after paging', async () => {
      const all = await owner.get(`/guilds/${guildId}/members?limit=1000`);
      expect(all.status).toBe(200);
      const ids = all.body.map((m: { user: { id: string } }) => m.user.id);
      expect(ids).toEqual(expect.arrayContaining([ownerUser.id, bobUser.id, carolUser.id]));
      const first = await owner.get(`/guilds/${guildId}/members?limit=2`);
      expect(first.body).toHaveLength(2);
      const next = await owner.get(`/guilds/${guildId}/members?limit=2&after=${first.body[1].user.id}`);
      expect(next.body[0].user.id).toBe(ids[2]);
      expect((await owner.get(`/guilds/${guildId}/members?limit=0`)).status).toBe(400);
      expect((await owner.get(`/guilds/${guildId}/members?limit=abc`)).status).toBe(400);
      const one = await bob.get(`/guilds/${guildId}/members/${carolUser.id}`);
      expect(one.body).toMatchObject({ user: { id: carolUser.id }, roles: [], nick: null });
    });

    it('creates channels and categories with MANAGE_CHANNELS only', async () => {
      expect((await bob.post(`/guilds/${guildId}/channels`, { name: 'nope' })).status).toBe(403);
      const cat = await owner.post(`/guilds/${guildId}/channels`, { name: 'Text', type: 4 });
      expect(cat.status).toBe(201);
      const child = await owner.post(`/guilds/${guildId}/channels`, {
        name: 'random',
        parent_id: cat.body.id,
      });
      expect(child.status).toBe(201);
      expect(child.body.parent_id).toBe(cat.body.id);
      const badParent = await owner.post(`/guilds/${guildId}/channels`, { name: 'x', parent_id: generalId });
      expect(badParent.status).toBe(400);
      const badType = await owner.post(`/guilds/${guildId}/channels`, { name: 'x', type: 1 });
      expect(badType.status).toBe(400);
      const renamed = await owner.patch(`/channels/${child.body.id}`, {
        name: 'off-topic',
        topic: 'anything',
      });
      expect(renamed.body).toMatchObject({ name: 'off-topic', topic: 'anything' });
      const list = await bob.get(`/guilds/${guildId}/channels`);
      expect(list.body.map((c: { name: string }) => c.name).sort()).toEqual(['Text', 'general', 'off-topic']);
      expect((await owner.delete(`/channels/${cat.body.id}`)).status).toBe(200);
      expect((await owner.get(`/channels/${child.body.id}`)).body.parent_id).toBeNull();
    });
  });

  describe('messages', () => {
    const sent: string[] = [];

    it('sends messages with nonce and mentions', async () => {
      const res = await bob.post(`/channels/${generalId}/messages`, {
        content: `hello <@${carolUser.id}>`,
        nonce: 'n-1',
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        channel_id: generalId,
        guild_id: guildId,
        author: { id: bobUser.id, username: 'bob' },
        content: `hello <@${carolUser.id}>`,
        edited_timestamp: null,
        attachments: [],
        mention_everyone: false,
        pinned: false,
        type: 0,
        nonce: 'n-1',
      });
      expect(res.body.mentions).toEqual([expect.objectContaining({ id: carolUser.id })]);
      expect(new Date(res.body.timestamp).toISOString()).toBe(res.body.timestamp);
      sent.push(res.body.id);
      for (let i = 1; i <= 29; i++) {
        const r = await owner.post(`/channels/${generalId}/messages`, { content: `message ${i}` });
        expect(r.status).toBe(200);
        sent.push(r.body.id);
      }
    });

    it('rejects empty, oversize and wrongly typed content without storing anything', async () => {
      const before = (await owner.get(`/channels/${generalId}/messages?limit=100`)).body.length;
      expect((await bob.post(`/channels/${generalId}/messages`, { content: '' })).status).toBe(400);
      expect((await bob.post(`/channels/${generalId}/messages`, { content: '   ' })).status).toBe(400);
      expect((await bob.post(`/channels/${generalId}/messages`, {})).status).toBe(400);
      expect((await bob.post(`/channels/${generalId}/messages`, { content: 'x'.repeat(4001) })).status).toBe(
        400,
      );
      expect((await bob.post(`/channels/${generalId}/messages`, { content: 12 })).status).toBe(400);
      const malformed = await bob.request('POST', `/channels/${generalId}/messages`, undefined, {
        raw: '{"content": "unterminated',
      });
      expect(malformed.status).toBe(400);
      expect(malformed.body).toEqual({ code: expect.any(Number), message: expect.any(String) });
      const notObject = await bob.request('POST', `/channels/${generalId}/messages`, undefined, {
        raw: '["content"]',
      });
      expect(notObject.status).toBe(400);
      const huge = await bob.request('POST', `/channels/${generalId}/messages`, undefined, {
        raw: JSON.stringify({ content: 'y'.repeat(2_000_000) }),
      });
      expect(huge.status).toBe(413);
      expect(huge.body).toMatchObject({ code: expect.any(Number), message: expect.any(String) });
      expect((await bob.post('/channels/999999999999/messages', { content: 'x' })).status).toBe(404);
      expect((await bob.post('/channels/abc/messages', { content: 'x' })).status).toBe(404);
      expect((await owner.get(`/channels/${generalId}/messages?limit=100`)).body.length).toBe(before);
    });

    it('pages history newest first: latest, before, after, around, limits', async () => {
      const newestFirst = [...sent].reverse();
      const latest = await bob.get(`/channels/${generalId}/messages`);
      expect(latest.status).toBe(200);
      expect(latest.body.map((m: { id: string }) => m.id)).toEqual(newestFirst);
      const five = await bob.get(`/channels/${generalId}/messages?limit=5`);
      expect(five.body.map((m: { id: string }) => m.id)).toEqual(newestFirst.slice(0, 5));
      const before = await bob.get(`/channels/${generalId}/messages?before=${sent[10]}&limit=3`);
      expect(before.body.map((m: { id: string }) => m.id)).toEqual([sent[9], sent[8], sent[7]]);
      const after = await bob.get(`/channels/${generalId}/messages?after=${sent[10]}&limit=3`);
      expect(after.body.map((m: { id: string }) => m.id)).toEqual([sent[13], sent[12], sent[11]]);
      const around = await bob.get(`/channels/${generalId}/messages?around=${sent[15]}&limit=5`);
      const aroundIds = around.body.map((m: { id: string }) => m.id);
      expect(aroundIds).toContain(sent[15]);
      expect(aroundIds).toHaveLength(5);
      expect(aroundIds).toEqual(
        [...aroundIds].sort((a: string, b: string) => (BigInt(b) > BigInt(a) ? 1 : -1)),
      );
      expect(aroundIds).toEqual(expect.arrayContaining([sent[14], sent[16]]));
      expect((await bob.get(`/channels/${generalId}/messages?limit=101`)).status).toBe(400);
      expect((await bob.get(`/channels/${generalId}/messages?limit=0`)).status).toBe(400);
      expect(
        (await bob.get(`/channels/${generalId}/messages?before=${sent[3]}&after=${sent[1]}`)).status,
      ).toBe(400);
      expect((await bob.get(`/channels/${generalId}/messages?before=xyz`)).status).toBe(400);
      const oldest = await bob.get(`/channels/${generalId}/messages?before=${sent[0]}`);
      expect(oldest.body).toEqual([]);
    });

    it('edits own messages only and deletes own or with MANAGE_MESSAGES', async () => {
      const mine = sent[0];
      const edited = await bob.patch(`/channels/${generalId}/messages/${mine}`, { content: 'hello again' });
      expect(edited.status).toBe(200);
      expect(edited.body.content).toBe('hello again');
      expect(edited.body.edited_timestamp).not.toBeNull();
      expect(
        (await owner.patch(`/channels/${generalId}/messages/${mine}`, { content: 'hijack' })).status,
      ).toBe(403);
      expect((await bob.delete(`/channels/${generalId}/messages/${sent[1]}`)).status).toBe(403);
      expect((await owner.delete(`/channels/${generalId}/messages/${sent[1]}`)).status).toBe(204);
      expect((await bob.get(`/channels/${generalId}/messages/${sent[1]}`)).status).toBe(404);
      expect((await bob.get(`/channels/${generalId}/messages/${mine}`)).body.content).toBe('hello again');
    });

    it('replies: type 19 with message_reference and the original, live, in history and until it is deleted', async () => {
      const send = (client: Client, body: Record<string, unknown>) =>
        client.post(`/channels/${generalId}/messages`, body);
      const original = (await send(owner, { content: 'question?' })).body;
      const gateway = await GatewayClient.ready(server.gatewayUrl, owner.token ?? '');
      let reply: any;
      try {
        const res = await send(bob, { content: 'answer', message_reference: { message_id: original.id } });
        expect(res.status).toBe(200);
        reply = res.body;
        expect(reply.type).toBe(19);
        expect(reply.message_reference).toEqual({
          type: 0,
          message_id: original.id,
          channel_id: generalId,
          guild_id: guildId,
        });
        expect(reply.referenced_message).toMatchObject({ id: original.id, content: 'question?' });
        expect(reply.referenced_message.author.id).toBe(ownerUser.id);
        // The replied-to author is mentioned by default.
        expect(reply.mentions.map((u: { id: string }) => u.id)).toEqual([ownerUser.id]);
        const live = await gateway.next('MESSAGE_CREATE', (p) => p.d.id === reply.id);
        expect(live.d.referenced_message).toMatchObject({ id: original.id, content: 'question?' });
      } finally {
        gateway.close();
      }
      const quiet = await send(bob, {
        content: 'no ping',
        message_reference: { message_id: original.id },
        allowed_mentions: { replied_user: false },
      });
      expect(quiet.body.type).toBe(19);
      expect(quiet.body.mentions).toEqual([]);

      // A recent id no message has (a new instance's ids count from Discord's epoch).
      const unknownId = ((BigInt(Date.now() - DISCORD_EPOCH) << 22n) | 5n).toString();
      const missing = await send(bob, { content: 'lost', message_reference: { message_id: unknownId } });
      expect(missing.status).toBe(400);
      expect(missing.body.code).toBe(50035);
      expect(missing.body.errors.message_reference).toBeDefined();
      const otherChannel = await send(bob, {
        content: 'lost',
        message_reference: { message_id: original.id, channel_id: unknownId },
      });
      expect(otherChannel.status).toBe(400);
      const plain = await send(bob, {
        content: 'sent anyway',
        message_reference: { message_id: unknownId, fail_if_not_exists: false },
      });
      expect(plain.status).toBe(200);
      expect(plain.body.type).toBe(0);
      expect(plain.body.message_reference).toBeUndefined();
      expect(plain.body.referenced_message).toBeUndefined();

      // History hydrates the original whether or not it is on the same page.
      const page = await bob.get(`/channels/${generalId}/messages?limit=1&before=${quiet.body.id}`);
      expect(page.body[0].id).toBe(reply.id);
      expect(page.body[0].referenced_message).toMatchObject({ id: original.id, content: 'question?' });
      const single = await bob.get(`/channels/${generalId}/messages/${reply.id}`);
      expect(single.body.referenced_message).toMatchObject({ id: original.id });

      expect((await owner.delete(`/channels/${generalId}/messages/${original.id}`)).status).toBe(204);
      const after = await bob.get(`/channels/${generalId}/messages/${reply.id}`);
      expect(after.body.type).toBe(19);
      expect(after.body.message_reference.message_id).toBe(original.id);
      expect(after.body.referenced_message).toBeNull();
      const latest = await bob.get(`/channels/${generalId}/messages?limit=5`);
      const inHistory = latest.body.find((m: { id: string }) => m.id === quiet.body.id);
      expect(inHistory.referenced_message).toBeNull();
    });

    it('bulk deletes 2..100 recent messages with MANAGE_MESSAGES and dispatches MESSAGE_DELETE_BULK', async () => {
      const ids: string[] = [];
      for (const content of ['sweep 1', 'sweep 2', 'keep']) {
        const res = await bob.post(`/channels/${generalId}/messages`, { content });
        expect(res.status).toBe(200);
        ids.push(res.body.id);
      }
      const [first, second, kept] = ids;
      const bulk = (client: Client, messages: unknown) =>
        client.post(`/channels/${generalId}/messages/bulk-delete`, { messages });

      expect((await bulk(bob, [first, second])).status).toBe(403);
      expect((await bulk(owner, [first])).status).toBe(400);
      expect(
        (
          await bulk(
            owner,
            Array.from({ length: 101 }, (_, i) => String(1000 + i)),
          )
        ).status,
      ).toBe(400);
      const duplicated = await bulk(owner, [first, first]);
      expect(duplicated.status).toBe(400);
      expect(duplicated.body.code).toBe(50035);
      expect(duplicated.body.errors.messages).toBeDefined();
      // A snowflake minted fifteen days ago (Parley's epoch is 2024-01-01, 22 bits below the milliseconds).
      const old = ((BigInt(Date.now() - 15 * 86_400_000 - DISCORD_EPOCH) << 22n) | 1n).toString();
      const tooOld = await bulk(owner, [first, old]);
      expect(tooOld.status).toBe(400);
      expect(tooOld.body.code).toBe(50034);
      // Nothing went on a refused request.
      expect((await bob.get(`/channels/${generalId}/messages/${first}`)).status).toBe(200);

      const gateway = await GatewayClient.ready(server.gatewayUrl, owner.token ?? '');
      try {
        const unknownId = ((BigInt(Date.now() - DISCORD_EPOCH) << 22n) | 7n).toString();
        expect((await bulk(owner, [second, unknownId, first])).status).toBe(204);
        const event = await gateway.next('MESSAGE_DELETE_BULK', (p) => p.d.channel_id === generalId);
        expect(event.d).toEqual({ ids: [second, first], channel_id: generalId, guild_id: guildId });
      } finally {
        gateway.close();
      }
      expect((await bob.get(`/channels/${generalId}/messages/${first}`)).status).toBe(404);
      expect((await bob.get(`/channels/${generalId}/messages/${second}`)).status).toBe(404);
      expect((await bob.get(`/channels/${generalId}/messages/${kept}`)).body.content).toBe('keep');
      // Ids naming no message of the channel are skipped, not refused.
      expect((await bulk(owner, [first, second])).status).toBe(204);
    });

    it('reacts, lists reactors, counts with me, and removes reactions', async () => {
      const target = sent[2];
      const emoji = encodeURIComponent('👍');
      expect((await bob.put(`/channels/${generalId}/messages/${target}/reactions/${emoji}/@me`)).status).toBe(
        204,
      );
      expect((await bob.put(`/channels/${generalId}/messages/${target}/reactions/${emoji}/@me`)).status).toBe(
        204,
      );
      expect(
        (await carol.put(`/channels/${generalId}/messages/${target}/reactions/${emoji}/@me`)).status,
      ).toBe(204);
      const users = await owner.get(`/channels/${generalId}/messages/${target}/reactions/${emoji}`);
      expect(users.body.map((u: { id: string }) => u.id).sort()).toEqual([bobUser.id, carolUser.id].sort());
      const msg = await bob.get(`/channels/${generalId}/messages/${target}`);
      expect(msg.body.reactions).toEqual([{ emoji: { name: '👍' }, count: 2, me: true }]);
      expect((await owner.get(`/channels/${generalId}/messages/${target}`)).body.reactions[0].me).toBe(false);
      expect(
        (await bob.delete(`/channels/${generalId}/messages/${target}/reactions/${emoji}/@me`)).status,
      ).toBe(204);
      expect((await bob.get(`/channels/${generalId}/messages/${target}`)).body.reactions).toEqual([
        { emoji: { name: '👍' }, count: 1, me: false },
      ]);
      expect(
        (await bob.put(`/channels/${generalId}/messages/${target}/reactions/notanemoji/@me`)).status,
      ).toBe(400);
      expect((await bob.put(`/channels/${generalId}/messages/424242/reactions/${emoji}/@me`)).status).toBe(
        404,
      );
    });

    it('keeps read states and mention counts', async () => {
      const states = await carol.get('/users/@me/read-states');
      expect(states.body).toEqual([{ channel_id: generalId, last_message_id: null, mention_count: 1 }]);
      expect((await carol.post(`/channels/${generalId}/messages/${sent[5]}/ack`)).status).toBe(204);
      const after = await carol.get('/users/@me/read-states');
      expect(after.body).toEqual([{ channel_id: generalId, last_message_id: sent[5], mention_count: 0 }]);
      expect((await carol.post(`/channels/${generalId}/messages/777/ack`)).status).toBe(404);
    });

    it('accepts typing notifications', async () => {
      expect((await bob.post(`/channels/${generalId}/typing`)).status).toBe(204);
    });
  });

  describe('roles and permission overwrites', () => {
    let secretId: string;
    let modRoleId: string;

    it('creates roles with MANAGE_ROLES and refuses to grant what the caller lacks', async () => {
      expect((await bob.post(`/guilds/${guildId}/roles`, { name: 'x' })).status).toBe(403);
      const mod = await owner.post(`/guilds/${guildId}/roles`, {
        name: 'mod',
        permissions: String(1 << 13),
        color: 0xff0000,
        position: 1,
      });
      expect(mod.status).toBe(201);
      expect(mod.body).toMatchObject({ name: 'mod', permissions: '8192', color: 0xff0000 });
      modRoleId = mod.body.id;
      expect((await owner.get(`/guilds/${guildId}/roles`)).body).toHaveLength(2);
      const assigned = await owner.patch(`/guilds/${guildId}/members/${carolUser.id}`, {
        roles: [modRoleId],
        nick: 'Mod Carol',
      });
      expect(assigned.status).toBe(200);
      expect(assigned.body).toMatchObject({ roles: [modRoleId], nick: 'Mod Carol' });
      // carol (MANAGE_MESSAGES) may now delete bob's message
      const msg = await bob.post(`/channels/${generalId}/messages`, { content: 'delete me' });
      expect((await carol.delete(`/channels/${generalId}/messages/${msg.body.id}`)).status).toBe(204);
      const unknownRole = await owner.patch(`/guilds/${guildId}/members/${carolUser.id}`, {
        roles: ['1234'],
      });
      expect(unknownRole.status).toBe(404);
      expect(
        (await owner.patch(`/guilds/${guildId}/roles/${modRoleId}`, { name: 'moderator' })).body.name,
      ).toBe('moderator');
    });

    it('denies a channel to @everyone with an overwrite, then lets one member back in', async () => {
      const secret = await owner.post(`/guilds/${guildId}/channels`, { name: 'secret' });
      secretId = secret.body.id;
      expect((await bob.get(`/channels/${secretId}`)).status).toBe(200);
      const deny = await owner.put(`/channels/${secretId}/permissions/${guildId}`, {
        type: 0,
        deny: String(1 << 10),
      });
      expect(deny.status).toBe(204);
      expect((await bob.get(`/channels/${secretId}`)).status).toBe(404);
      expect((await bob.get(`/channels/${secretId}/messages`)).status).toBe(404);
      expect((await bob.post(`/channels/${secretId}/messages`, { content: 'x' })).status).toBe(404);
      expect(
        (await bob.get(`/guilds/${guildId}/channels`)).body.map((c: { id: string }) => c.id),
      ).not.toContain(secretId);
      await owner.put(`/channels/${secretId}/permissions/${bobUser.id}`, {
        type: 1,
        allow: String(1 << 10),
        deny: String(1 << 11),
      });
      expect((await bob.get(`/channels/${secretId}/messages`)).status).toBe(200);
      const readOnly = await bob.post(`/channels/${secretId}/messages`, { content: 'x' });
      expect(readOnly.status).toBe(403);
      expect(readOnly.body.code).toBe(50013);
      expect(
        (await bob.put(`/channels/${secretId}/permissions/${bobUser.id}`, { type: 1, allow: '0' })).status,
      ).toBe(403);
      expect((await owner.delete(`/channels/${secretId}/permissions/${bobUser.id}`)).status).toBe(204);
      expect((await bob.get(`/channels/${secretId}`)).status).toBe(404);
      expect((await owner.put(`/channels/${secretId}/permissions/1234`, { type: 0 })).status).toBe(404);
      expect((await owner.put(`/channels/${secretId}/permissions/${guildId}`, { type: 7 })).status).toBe(400);
    });

    it('removing SEND_MESSAGES from @everyone makes sends 403 for plain members', async () => {
      const everyone = (await owner.get(`/guilds/${guildId}/roles`)).body.find(
        (r: { id: string }) => r.id === guildId,
      );
      const without = (BigInt(everyone.permissions) & ~(1n << 11n)).toString();
      expect(
        (await owner.patch(`/guilds/${guildId}/roles/${guildId}`, { permissions: without })).status,
      ).toBe(200);
      expect((await bob.post(`/channels/${generalId}/messages`, { content: 'x' })).status).toBe(403);
      expect(
        (await owner.patch(`/guilds/${guildId}/roles/${guildId}`, { permissions: everyone.permissions }))
          .status,
      ).toBe(200);
      expect((await bob.post(`/channels/${generalId}/messages`, { content: 'back' })).status).toBe(200);
      expect((await owner.delete(`/guilds/${guildId}/roles/${guildId}`)).status).toBe(400);
    });

    it('deletes a role and strips it from members', async () => {
      expect((await owner.delete(`/guilds/${guildId}/roles/${modRoleId}`)).status).toBe(204);
      // The role is gone at once (it grants nothing from then on); the members lose it when the
      // role.purge_members job has paged through them (issue 17: big deletes run as jobs).
      const roles = (await owner.get(`/guilds/${guildId}/roles`)).body as { id: string }[];
      expect(roles.map((r) => r.id)).not.toContain(modRoleId);
      await waitUntilPasses(async () =>
        expect((await owner.get(`/guilds/${guildId}/members/${carolUser.id}`)).body.roles).toEqual([]),
      );
    });
  });

  describe('notification settings', () => {
    const settingsOf = (guild: string) => `/users/@me/guilds/${guild}/settings`;

    it("reads defaults, merges Discord-shaped patches, tells the user's sessions and carries them in READY", async () => {
      const initial = await bob.get(settingsOf(guildId));
      expect(initial.status).toBe(200);
      expect(initial.body).toMatchObject({
        guild_id: guildId,
        message_notifications: 3,
        muted: false,
        mute_config: null,
        suppress_everyone: false,
        suppress_roles: false,
        channel_overrides: [],
      });

      const gateway = await GatewayClient.ready(server.gatewayUrl, bob.token ?? '');
      try {
        const until = new Date(Date.now() + 3_600_000).toISOString();
        // Discord's clients send overrides as a map and fields Parley keeps nothing for: accepted.
        const patched = await bob.patch(settingsOf(guildId), {
          message_notifications: 1,
          suppress_everyone: true,
          mobile_push: false,
          hide_muted_channels: true,
          version: 12,
          channel_overrides: {
            [generalId]: { muted: true, mute_config: { end_time: until, selected_time_window: 3600 } },
          },
        });
        expect(patched.status).toBe(200);
        expect(patched.body).toMatchObject({
          guild_id: guildId,
          message_notifications: 1,
          suppress_everyone: true,
          channel_overrides: [
            {
              channel_id: generalId,
              message_notifications: 3,
              muted: true,
              mute_config: { end_time: until },
            },
          ],
        });
        const live = await gateway.next('USER_GUILD_SETTINGS_UPDATE', (p) => p.d.guild_id === guildId);
        expect(live.d).toEqual(patched.body);
      } finally {
        gateway.close();
      }

      // The array form merges into the stored override; other fields stay as they were.
      const merged = await bob.patch(settingsOf(guildId), {
        channel_overrides: [{ channel_id: generalId, message_notifications: 2 }],
      });
      expect(merged.body).toMatchObject({
        message_notifications: 1,
        suppress_everyone: true,
        channel_overrides: [{ channel_id: generalId, message_notifications: 2, muted: true }],
      });
      expect((await bob.get(settingsOf(guildId))).body).toEqual(merged.body);

      const again = new GatewayClient(server.gatewayUrl, bob.token ?? '');
      try {
        const ready = await again.next('READY');
        expect(ready.d.user_guild_settings).toMatchObject({ entries: [merged.body], partial: false });
      } finally {
        again.close();
      }

      // An override back at its defaults is dropped; another member's settings were never touched.
      const reset = await bob.patch(settingsOf(guildId), {
        channel_overrides: { [generalId]: { message_notifications: 3, muted: false } },
      });
      expect(reset.body.channel_overrides).toEqual([]);
      expect((await owner.get(settingsOf(guildId))).body).toMatchObject({
        message_notifications: 3,
        channel_overrides: [],
      });
    });

    it('sets the guild default with MANAGE_GUILD and refuses bad settings in the contract shape', async () => {
      expect((await bob.patch(`/guilds/${guildId}`, { default_message_notifications: 1 })).status).toBe(403);
      const guild = await owner.patch(`/guilds/${guildId}`, { default_message_notifications: 1 });
      expect(guild.body.default_message_notifications).toBe(1);
      expect((await bob.get(`/guilds/${guildId}`)).body.default_message_notifications).toBe(1);
      expect((await owner.patch(`/guilds/${guildId}`, { default_message_notifications: 2 })).status).toBe(
        400,
      );
      await owner.patch(`/guilds/${guildId}`, { default_message_notifications: 0 });

      const before = (await bob.get(settingsOf(guildId))).body;
      const bad = await bob.patch(settingsOf(guildId), { message_notifications: 7 });
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ code: 50035, errors: { message_notifications: expect.anything() } });
      expect((await bob.patch(settingsOf(guildId), { muted: 'yes' })).status).toBe(400);
      expect((await bob.patch(settingsOf(guildId), { mute_config: { end_time: 'tomorrow' } })).status).toBe(
        400,
      );
      const foreign = await bob.patch(settingsOf(guildId), {
        channel_overrides: { '1234567890123': { muted: true } },
      });
      expect(foreign.status).toBe(400);
      expect(foreign.body.code).toBe(50035);
      // Nothing stored changed on any refusal.
      expect((await bob.get(settingsOf(guildId))).body).toEqual(before);

      const outsider = new Client(server.url);
      await outsider.register('settings_outsider');
      expect((await outsider.get(settingsOf(guildId))).status).toBe(404);
      expect((await outsider.patch(settingsOf(guildId), { muted: true })).status).toBe(404);
      expect((await bob.get(settingsOf('0123'))).status).toBe(404);
      expect((await new Client(server.url).get(settingsOf(guildId))).status).toBe(401);
    });
  });

  describe('kick, ban, leave, guild edits', () => {
    it('kicks: the member loses access at once and may rejoin by invite', async () => {
      expect((await bob.delete(`/guilds/${guildId}/members/${carolUser.id}`)).status).toBe(403);
      expect((await owner.delete(`/guilds/${guildId}/members/${carolUser.id}`)).status).toBe(204);
      expect((await carol.get(`/guilds/${guildId}`)).status).toBe(404);
      expect((await carol.get(`/channels/${generalId}/messages`)).status).toBe(404);
      const invite = await owner.post(`/channels/${generalId}/invites`, {});
      expect((await carol.post(`/invites/${invite.body.code}`)).status).toBe(200);
      expect((await carol.get(`/guilds/${guildId}`)).status).toBe(200);
    });

    it('bans: the member is removed, listed, and cannot rejoin until unbanned', async () => {
      expect((await carol.put(`/guilds/${guildId}/bans/${bobUser.id}`, {})).status).toBe(403);
      expect((await owner.put(`/guilds/${guildId}/bans/${bobUser.id}`, { reason: 'spam' })).status).toBe(204);
      expect((await bob.get(`/guilds/${guildId}`)).status).toBe(404);
      const ban = await owner.get(`/guilds/${guildId}/bans/${bobUser.id}`);
      expect(ban.body).toEqual({ user: expect.objectContaining({ id: bobUser.id }), reason: 'spam' });
      // Discord's paging: user id order, `before` wins over `after`, limit 1-1000.
      const userIdsOf = (res: { body: { user: { id: string } }[] }) => res.body.map((b) => b.user.id);
      expect(userIdsOf(await owner.get(`/guilds/${guildId}/bans`))).toEqual([bobUser.id]);
      expect(userIdsOf(await owner.get(`/guilds/${guildId}/bans?after=${bobUser.id}`))).toEqual([]);
      expect(
        userIdsOf(
          await owner.get(`/guilds/${guildId}/bans?before=${BigInt(bobUser.id) + 1n}&after=${bobUser.id}`),
        ),
      ).toEqual([bobUser.id]);
      expect((await owner.get(`/guilds/${guildId}/bans?limit=1001`)).status).toBe(400);
      expect((await owner.get(`/guilds/${guildId}/bans?before=abc`)).status).toBe(400);
      const invite = await owner.post(`/channels/${generalId}/invites`, {});
      const rejoin = await bob.post(`/invites/${invite.body.code}`);
      expect(rejoin.status).toBe(403);
      expect((await bob.get(`/guilds/${guildId}`)).status).toBe(404);
      expect((await owner.delete(`/guilds/${guildId}/bans/${bobUser.id}`)).status).toBe(204);
      expect((await owner.get(`/guilds/${guildId}/bans/${bobUser.id}`)).status).toBe(404);
      expect((await bob.post(`/invites/${invite.body.code}`)).status).toBe(200);
      expect((await owner.put(`/guilds/${guildId}/bans/${ownerUser.id}`, {})).status).toBe(400);
    });

    it('members leave; the owner cannot; guild edits need MANAGE_GUILD; delete is owner only', async () => {
      expect((await carol.delete(`/users/@me/guilds/${guildId}`)).status).toBe(204);
      expect((await carol.get(`/guilds/${guildId}`)).status).toBe(404);
      expect((await owner.delete(`/users/@me/guilds/${guildId}`)).status).toBe(400);
      expect((await bob.patch(`/guilds/${guildId}`, { name: 'Hacked' })).status).toBe(403);
      expect((await owner.patch(`/guilds/${guildId}`, { name: 'Parley HQ 2' })).body.name).toBe(
        'Parley HQ 2',
      );
      expect((await bob.delete(`/guilds/${guildId}`)).status).toBe(403);
      const temp = await owner.post('/guilds', { name: 'Temporary' });
      const tempChannel = temp.body.channels[0].id;
      await owner.post(`/channels/${tempChannel}/messages`, { content: 'soon gone' });
      expect((await owner.delete(`/guilds/${temp.body.id}`)).status).toBe(204);
      expect((await owner.get(`/guilds/${temp.body.id}`)).status).toBe(404);
      expect((await owner.get(`/channels/${tempChannel}/messages`)).status).toBe(404);
    });
  });

  describe('direct messages', () => {
    it('creates a DM once, returns the same channel twice, and only recipients see it', async () => {
      // Carol was banned above, so she shares no guild with Bob: she takes DMs from anyone (the default is
      // users sharing a guild, docs/moderation.md).
      expect((await carol.patch('/users/@me/privacy', { direct_messages: 'everyone' })).status).toBe(200);
      const first = await bob.post('/users/@me/channels', { recipient_id: carolUser.id });
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({
        type: 1,
        recipients: [expect.objectContaining({ id: carolUser.id })],
      });
      const second = await bob.post('/users/@me/channels', { recipient_id: carolUser.id });
      expect(second.body.id).toBe(first.body.id);
      const fromCarol = await carol.post('/users/@me/channels', { recipient_id: bobUser.id });
      expect(fromCarol.body.id).toBe(first.body.id);
      const msg = await carol.post(`/channels/${first.body.id}/messages`, { content: 'psst' });
      expect(msg.status).toBe(200);
      expect(msg.body.guild_id).toBeUndefined();
      expect((await bob.get(`/channels/${first.body.id}/messages`)).body[0].content).toBe('psst');
      expect((await owner.get(`/channels/${first.body.id}/messages`)).status).toBe(404);
      const list = await bob.get('/users/@me/channels');
      expect(list.body.map((c: { id: string }) => c.id)).toEqual([first.body.id]);
      // Paged newest first (READY carries the newest 200 only): nothing before the only DM.
      expect((await bob.get(`/users/@me/channels?limit=1&before=${first.body.id}`)).body).toEqual([]);
      expect((await bob.get('/users/@me/channels?limit=1')).body.map((c: { id: string }) => c.id)).toEqual([
        first.body.id,
      ]);
      expect((await bob.get('/users/@me/channels?limit=0')).status).toBe(400);
      expect((await bob.post('/users/@me/channels', { recipient_id: bobUser.id })).status).toBe(400);
      expect((await bob.post('/users/@me/channels', { recipient_id: '99999999' })).status).toBe(404);
    });
  });

  describe('operations', () => {
    it('serves health, readiness, metrics and the OpenAPI document', async () => {
      const live = await fetch(`${server.url}/health/live`);
      expect(live.status).toBe(200);
      const ready = await fetch(`${server.url}/health/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({
        status: 'ok',
        checks: { [`database:${backendName()}`]: 'ok' },
      });
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toContain('parley_http_request_duration_seconds_bucket');
      expect(metrics).toContain('process_resident_memory_bytes');
      expect(metrics).toMatch(
        new RegExp(
          `parley_db_operation_duration_seconds_count\\{backend="${backendName()}",operation="messages.create",dc="[^"]+"\\} [1-9]`,
        ),
      );
      const docs = await fetch(`${server.url}/api/docs`);
      const doc = (await docs.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
      expect(doc.openapi).toBe('3.1.0');
      expect(doc.paths['/api/v1/channels/{channel_id}/messages']).toHaveProperty('post.requestBody');
      expect(Object.keys(doc.paths).length).toBeGreaterThan(20);
    });

    it('answers unknown routes with 404 in the contract shape, with a request id', async () => {
      const res = await owner.get('/no/such/route');
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ code: 0, message: expect.any(String) });
      expect(res.headers.get('x-request-id')).toBeTruthy();
    });

    it("answers a repeated send with enforce_nonce with the first message (Discord's idempotent send)", async () => {
      const channel = await owner.post(`/guilds/${guildId}/channels`, { name: 'nonces' });
      expect(channel.status).toBe(201);
      const url = `/channels/${channel.body.id}/messages`;
      const first = await bob.post(url, { content: 'once', nonce: 'retry-1', enforce_nonce: true });
      expect(first.status).toBe(200);
      const repeats = await Promise.all(
        [1, 2, 3].map(() => bob.post(url, { content: 'once', nonce: 'retry-1', enforce_nonce: true })),
      );
      for (const repeat of repeats)
        expect(repeat.body).toMatchObject({ id: first.body.id, nonce: 'retry-1' });
      // Another author's nonce, or a nonce without enforce_nonce, is its own send.
      const owners = await owner.post(url, { content: 'mine', nonce: 'retry-1', enforce_nonce: true });
      const plain = await bob.post(url, { content: 'again', nonce: 'retry-1' });
      expect(new Set([first.body.id, owners.body.id, plain.body.id]).size).toBe(3);
      const history = await owner.get(`${url}?limit=10`);
      expect(history.body.map((m: { id: string }) => m.id)).toEqual([
        plain.body.id,
        owners.body.id,
        first.body.id,
      ]);
      expect((await bob.post(url, { content: 'x', nonce: 'n', enforce_nonce: 'yes' })).status).toBe(400);
    });

    it('logout revokes the token everywhere', async () => {
      const session = new Client(server.url);
      const login = await session.post('/auth/login', { login: 'carol', password: 'correct horse battery' });
      session.token = login.body.token;
      expect((await session.get('/users/@me')).status).toBe(200);
      expect((await session.post('/auth/logout')).status).toBe(204);
      expect((await session.get('/users/@me')).status).toBe(401);
      expect((await carol.get('/users/@me')).status).toBe(200); // other tokens of the user still work
    });
  });
});
