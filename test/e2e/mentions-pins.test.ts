import { GatewayClient } from '../support/clients';
import { waitFor } from '../support/wait';
import { Client, type ServerProcess, startServer, tempDir } from './harness';

/**
 * Role and @everyone mentions under allowed_mentions, their counts in read states (a queue job), and pins in
 * both of Discord's forms, end to end over real HTTP and the gateway (issue 18).
 */
describe('mentions and pins (monolith on SQLite)', () => {
  const dir = tempDir();
  let server: ServerProcess;
  let owner: Client;
  let bob: Client;
  let carol: Client;
  let bobId: string;
  let carolId: string;
  let guildId: string;
  let channelId: string;
  let team: string;
  let crew: string;
  const send = (client: Client, body: Record<string, unknown>) =>
    client.post(`/channels/${channelId}/messages`, body);
  const mentionCount = async (client: Client): Promise<number> => {
    const states = (await client.get('/users/@me/read-states')).body as {
      channel_id: string;
      mention_count: number;
    }[];
    return states.find((s) => s.channel_id === channelId)?.mention_count ?? 0;
  };

  beforeAll(async () => {
    server = await startServer({
      PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
      PARLEY__RATE_LIMITS__ENABLED: 'false',
    });
    owner = new Client(server.url);
    bob = new Client(server.url);
    carol = new Client(server.url);
    await owner.register('owner');
    bobId = (await bob.register('bob')).id;
    carolId = (await carol.register('carol')).id;
    const guild = await owner.post('/guilds', { name: 'Pins and pings' });
    guildId = guild.body.id;
    channelId = guild.body.channels[0].id;
    const code = (await owner.post(`/channels/${channelId}/invites`, {})).body.code as string;
    expect((await bob.post(`/invites/${code}`)).status).toBe(200);
    expect((await carol.post(`/invites/${code}`)).status).toBe(200);
  });

  afterAll(async () => {
    await server?.stop();
    dir.remove();
  });

  it('roles carry mentionable, on create, edit and in the role list', async () => {
    const created = await owner.post(`/guilds/${guildId}/roles`, { name: 'team' });
    expect(created.status).toBe(201);
    expect(created.body.mentionable).toBe(false);
    team = created.body.id;
    const pingable = await owner.post(`/guilds/${guildId}/roles`, { name: 'crew', mentionable: true });
    crew = pingable.body.id;
    expect(pingable.body.mentionable).toBe(true);
    const patched = await owner.patch(`/guilds/${guildId}/roles/${team}`, { mentionable: true });
    expect(patched.body.mentionable).toBe(true);
    await owner.patch(`/guilds/${guildId}/roles/${team}`, { mentionable: false });
    const roles = (await owner.get(`/guilds/${guildId}/roles`)).body as {
      id: string;
      mentionable: boolean;
    }[];
    expect(roles.find((r) => r.id === team)?.mentionable).toBe(false);
    expect((await owner.patch(`/guilds/${guildId}/roles/${team}`, { mentionable: 'yes' })).status).toBe(400);
    expect((await owner.patch(`/guilds/${guildId}/members/${carolId}`, { roles: [team, crew] })).status).toBe(
      200,
    );
    expect((await owner.patch(`/guilds/${guildId}/members/${bobId}`, { roles: [crew] })).status).toBe(200);
  });

  it('mentions roles and @everyone by Discord rules and counts them in read states', async () => {
    const content = `<@&${team}> <@&${crew}> @everyone`;
    // bob lacks MENTION_EVERYONE: only the mentionable role counts, @everyone stays text.
    const plain = await send(bob, { content });
    expect(plain.status).toBe(200);
    expect(plain.body).toMatchObject({ content, mention_roles: [crew], mention_everyone: false });
    // The owner holds every permission: both roles and @everyone.
    const loud = await send(owner, { content: `<@&${team}> @everyone` });
    expect(loud.body).toMatchObject({ mention_roles: [team], mention_everyone: true });
    // carol: crew (bob's), then team and @everyone (the owner's, once); bob: @everyone only (not his own).
    await waitFor(async () => (await mentionCount(carol)) === 2, "carol's two mentions are counted");
    await waitFor(async () => (await mentionCount(bob)) === 1, "bob's @everyone mention is counted");
    expect(await mentionCount(owner)).toBe(0);
    expect(await mentionCount(carol)).toBe(2);
  });

  it('honours allowed_mentions on create and edit, and refuses parse with an id list of its kind', async () => {
    const content = `<@${bobId}> <@${carolId}> <@&${team}> @everyone`;
    const none = await send(owner, { content, allowed_mentions: { parse: [] } });
    expect(none.body).toMatchObject({ mentions: [], mention_roles: [], mention_everyone: false });
    const some = await send(owner, {
      content,
      allowed_mentions: { users: [carolId], roles: [team] },
    });
    expect(some.body.mentions.map((u: { id: string }) => u.id)).toEqual([carolId]);
    expect(some.body).toMatchObject({ mention_roles: [team], mention_everyone: false });
    const edited = await owner.patch(`/channels/${channelId}/messages/${some.body.id}`, {
      content,
      allowed_mentions: { parse: ['everyone'] },
    });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ mentions: [], mention_roles: [], mention_everyone: true });
    const clash = await send(owner, {
      content,
      allowed_mentions: { parse: ['users'], users: [bobId] },
    });
    expect(clash.status).toBe(400);
    expect(clash.body.code).toBe(50035);
    expect(clash.body.errors['allowed_mentions.parse'] ?? clash.body.errors.allowed_mentions).toBeDefined();
    expect((await send(owner, { content, allowed_mentions: { parse: ['nobody'] } })).status).toBe(400);
  });

  it('pins in both forms with PIN_MESSAGES or MANAGE_MESSAGES, announced as Discord does', async () => {
    const first = (await send(bob, { content: 'pin me' })).body;
    const second = (await send(bob, { content: 'and me' })).body;
    expect((await bob.put(`/channels/${channelId}/pins/${first.id}`)).status).toBe(403);
    expect((await bob.get(`/channels/${channelId}/pins`)).body).toEqual([]);

    const gateway = await GatewayClient.ready(server.gatewayUrl, bob.token ?? '');
    try {
      expect((await owner.put(`/channels/${channelId}/pins/${first.id}`)).status).toBe(204);
      const update = await gateway.next('MESSAGE_UPDATE', (p) => p.d.id === first.id);
      expect(update.d.pinned).toBe(true);
      const pins = await gateway.next('CHANNEL_PINS_UPDATE', (p) => p.d.channel_id === channelId);
      expect(pins.d).toEqual({
        guild_id: guildId,
        channel_id: channelId,
        last_pin_timestamp: expect.any(String),
      });
      const notice = await gateway.next('MESSAGE_CREATE', (p) => p.d.type === 6);
      expect(notice.d).toMatchObject({
        content: '',
        message_reference: { message_id: first.id, channel_id: channelId, guild_id: guildId },
      });
      expect(notice.d.referenced_message).toBeUndefined();
    } finally {
      gateway.close();
    }
    // Pinning again changes nothing; the newer form pins too.
    expect((await owner.put(`/channels/${channelId}/pins/${first.id}`)).status).toBe(204);
    expect((await owner.put(`/channels/${channelId}/messages/pins/${second.id}`)).status).toBe(204);

    const old = await bob.get(`/channels/${channelId}/pins`);
    expect(old.body.map((m: { id: string }) => m.id)).toEqual([second.id, first.id]);
    expect(old.body[0].pinned).toBe(true);
    const page = await bob.get(`/channels/${channelId}/messages/pins?limit=1`);
    expect(page.status).toBe(200);
    expect(page.body.has_more).toBe(true);
    expect(page.body.items).toHaveLength(1);
    expect(page.body.items[0].message.id).toBe(second.id);
    const before = page.body.items[0].pinned_at as string;
    expect(new Date(before).toISOString()).toBe(before);
    const rest = await bob.get(`/channels/${channelId}/messages/pins?before=${encodeURIComponent(before)}`);
    expect(rest.body).toEqual({
      items: [expect.objectContaining({ pinned_at: expect.any(String) })],
      has_more: false,
    });
    expect(rest.body.items[0].message.id).toBe(first.id);
    expect((await bob.get(`/channels/${channelId}/messages/pins?before=yesterday`)).status).toBe(400);
    expect((await bob.get(`/channels/${channelId}/messages/pins?limit=51`)).status).toBe(400);

    // PIN_MESSAGES alone is enough.
    const pinners = await owner.post(`/guilds/${guildId}/roles`, {
      name: 'pinners',
      permissions: String(1n << 51n),
    });
    await owner.patch(`/guilds/${guildId}/members/${bobId}`, { roles: [crew, pinners.body.id] });
    expect((await bob.delete(`/channels/${channelId}/pins/${first.id}`)).status).toBe(204);
    expect((await bob.get(`/channels/${channelId}/messages/${first.id}`)).body.pinned).toBe(false);
    expect((await bob.get(`/channels/${channelId}/pins`)).body.map((m: { id: string }) => m.id)).toEqual([
      second.id,
    ]);
    expect((await bob.put(`/channels/${channelId}/pins/424242`)).status).toBe(404);

    // A deleted pinned message leaves the list.
    expect((await bob.delete(`/channels/${channelId}/messages/${second.id}`)).status).toBe(204);
    expect((await bob.get(`/channels/${channelId}/pins`)).body).toEqual([]);
  });

  it('stores embeds within Discord limits; SUPPRESS_EMBEDS hides them, a moderator may set it', async () => {
    const embed = {
      title: 'Release notes',
      description: 'What changed',
      url: 'https://example.test/notes',
      color: 0x3366ff,
      fields: [{ name: 'Version', value: '1.2', inline: true }],
    };
    const sent = await send(bob, { embeds: [embed] });
    expect(sent.status).toBe(200);
    expect(sent.body).toMatchObject({ content: '', embeds: [{ ...embed, type: 'rich' }], flags: 0 });
    const fetched = await owner.get(`/channels/${channelId}/messages/${sent.body.id}`);
    expect(fetched.body.embeds).toEqual(sent.body.embeds);

    const tooLong = await send(bob, { content: 'x', embeds: [{ title: 'x'.repeat(257) }] });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.code).toBe(50035);
    expect((await send(bob, { embeds: [{ url: 'javascript:alert(1)' }] })).status).toBe(400);

    // The author's quiet send: stored, not shown.
    const quiet = await send(bob, { content: 'quiet', embeds: [embed], flags: 4 });
    expect(quiet.body).toMatchObject({ embeds: [], flags: 4 });

    expect(
      (await owner.patch(`/channels/${channelId}/messages/${sent.body.id}`, { content: 'not yours' })).status,
    ).toBe(403);
    const gateway = await GatewayClient.ready(server.gatewayUrl, bob.token ?? '');
    try {
      const hidden = await owner.patch(`/channels/${channelId}/messages/${sent.body.id}`, { flags: 4 });
      expect(hidden.status).toBe(200);
      expect(hidden.body).toMatchObject({ embeds: [], flags: 4, edited_timestamp: null });
      const update = await gateway.next('MESSAGE_UPDATE', (p) => p.d.id === sent.body.id);
      expect(update.d).toMatchObject({ embeds: [], flags: 4 });
    } finally {
      gateway.close();
    }
    const shown = await bob.patch(`/channels/${channelId}/messages/${sent.body.id}`, { flags: 0 });
    expect(shown.body.embeds).toEqual(sent.body.embeds);
    expect((await bob.patch(`/channels/${channelId}/messages/${sent.body.id}`, {})).status).toBe(400);
  });

  it('holds a channel to 50 pins (400 30003)', async () => {
    for (let i = 0; i < 50; i++) {
      const m = (await send(owner, { content: `pin ${i}` })).body;
      expect((await owner.put(`/channels/${channelId}/messages/pins/${m.id}`)).status).toBe(204);
    }
    const extra = (await send(owner, { content: 'one too many' })).body;
    const refused = await owner.put(`/channels/${channelId}/pins/${extra.id}`);
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe(30003);
    expect((await owner.get(`/channels/${channelId}/pins`)).body).toHaveLength(50);
    expect((await owner.get(`/channels/${channelId}/messages/${extra.id}`)).body.pinned).toBe(false);
  });
});
