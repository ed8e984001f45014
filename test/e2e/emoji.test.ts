import sharp from 'sharp';
import { GatewayClient } from '../support/clients';
import { Client, type ServerProcess, startServer, tempDir, useMediaProxy } from './harness';

/** A static PNG of one colour. */
async function png(size = 64): Promise<Buffer> {
  return sharp({ create: { width: size, height: size, channels: 4, background: '#3366ff' } })
    .png()
    .toBuffer();
}

/** A two-frame animated GIF (red, then blue). */
async function animatedGif(size = 16): Promise<Buffer> {
  const raw = Buffer.alloc(size * size * 2 * 4);
  for (let i = 0; i < size * size * 2; i++)
    raw.set(i < size * size ? [255, 0, 0, 255] : [0, 0, 255, 255], i * 4);
  return sharp(raw, { raw: { width: size, height: size * 2, channels: 4, pageHeight: size } })
    .gif()
    .toBuffer();
}

const dataUri = (type: string, bytes: Buffer) => `data:${type};base64,${bytes.toString('base64')}`;

useMediaProxy();

/**
 * Custom guild emoji (issue 18): Discord's routes with MANAGE_GUILD_EXPRESSIONS, the image served by the media
 * proxy at Discord's CDN path, GUILD_EMOJIS_UPDATE, the guild object's `emojis`, audit log entries, limits, and
 * reactions with `name:id`, end to end over real HTTP and socket.io.
 */
describe('custom emoji (monolith on SQLite)', () => {
  const dir = tempDir('parley-e2e-emoji-');
  let server: ServerProcess;
  let owner: Client;
  let bob: Client;
  let outsider: Client;
  let guildId: string;
  let channelId: string;
  let parrot: { id: string; name: string; animated: boolean };
  let wave: { id: string; name: string; animated: boolean };

  beforeAll(async () => {
    server = await startServer({
      PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
      PARLEY__STORAGE__LOCAL__PATH: `${dir.path}/files`,
      PARLEY__RATE_LIMITS__ENABLED: 'false',
      // Small limits so the count limit is reached in a few requests.
      PARLEY__MEDIA__EMOJI__MAX_STATIC: '2',
      PARLEY__MEDIA__EMOJI__MAX_ANIMATED: '1',
    });
    owner = new Client(server.url);
    bob = new Client(server.url);
    outsider = new Client(server.url);
    await owner.register('emoji_owner');
    await bob.register('emoji_bob');
    await outsider.register('emoji_outsider');
    const guild = await owner.post('/guilds', { name: 'Emoji' });
    guildId = guild.body.id;
    channelId = guild.body.channels[0].id;
    expect(guild.body.emojis).toEqual([]);
    const code = (await owner.post(`/channels/${channelId}/invites`, {})).body.code as string;
    expect((await bob.post(`/invites/${code}`)).status).toBe(200);
  });

  afterAll(async () => {
    await server?.stop();
    dir.remove();
  });

  it('creates emoji with MANAGE_GUILD_EXPRESSIONS, announces the full list and serves the images', async () => {
    const denied = await bob.post(`/guilds/${guildId}/emojis`, {
      name: 'nope',
      image: dataUri('image/png', await png()),
    });
    expect(denied.status).toBe(403);
    expect(denied.body.code).toBe(50013);

    const gateway = await GatewayClient.ready(server.gatewayUrl, bob.token ?? '');
    try {
      const created = await owner.post(`/guilds/${guildId}/emojis`, {
        name: 'wave',
        image: dataUri('image/png', await png(300)),
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        id: expect.any(String),
        name: 'wave',
        roles: [],
        require_colons: true,
        managed: false,
        animated: false,
        available: true,
        user: { username: 'emoji_owner' },
      });
      wave = created.body;
      const update = await gateway.next('GUILD_EMOJIS_UPDATE', (p) => p.d.guild_id === guildId);
      expect(update.d.emojis.map((e: { id: string }) => e.id)).toEqual([wave.id]);

      // The declared type is not trusted: a GIF sent as image/png is read as the GIF it is.
      const animated = await owner.post(`/guilds/${guildId}/emojis`, {
        name: 'party_parrot',
        image: dataUri('image/png', await animatedGif()),
      });
      expect(animated.status).toBe(201);
      expect(animated.body.animated).toBe(true);
      parrot = animated.body;
      const both = await gateway.next(
        'GUILD_EMOJIS_UPDATE',
        (p) => p.d.guild_id === guildId && p.d.emojis.length === 2,
      );
      expect(both.d.emojis.map((e: { name: string }) => e.name)).toEqual(['wave', 'party_parrot']);
      // Events carry no uploader (only REST answers to managers do).
      expect(both.d.emojis[0].user).toBeUndefined();
    } finally {
      gateway.close();
    }

    const still = await fetch(`${server.mediaUrl}/media/emojis/${wave.id}.png`);
    expect(still.status).toBe(200);
    expect(still.headers.get('content-type')).toBe('image/png');
    expect(still.headers.get('cache-control')).toContain('immutable');
    // Stored within 128×128 whatever was uploaded.
    expect((await sharp(Buffer.from(await still.arrayBuffer())).metadata()).width).toBe(128);
    const webp = await fetch(`${server.mediaUrl}/media/emojis/${wave.id}.webp?size=32`);
    expect(webp.headers.get('content-type')).toBe('image/webp');
    expect((await sharp(Buffer.from(await webp.arrayBuffer())).metadata()).width).toBe(32);

    const gif = await fetch(`${server.mediaUrl}/media/emojis/${parrot.id}.gif`);
    expect(gif.status).toBe(200);
    expect(gif.headers.get('content-type')).toBe('image/gif');
    expect((await sharp(Buffer.from(await gif.arrayBuffer()), { animated: true }).metadata()).pages).toBe(2);
    expect((await fetch(`${server.mediaUrl}/media/emojis/123456789012345678.png`)).status).toBe(404);
    expect((await fetch(`${server.mediaUrl}/media/emojis/../../etc.png`)).status).toBe(404);
  });

  it('lists and gets emoji for members only, and the guild object carries them', async () => {
    const list = await bob.get(`/guilds/${guildId}/emojis`);
    expect(list.status).toBe(200);
    expect(list.body.map((e: { id: string }) => e.id)).toEqual([wave.id, parrot.id]);
    // Members without MANAGE_GUILD_EXPRESSIONS do not see who uploaded them.
    expect(list.body[0].user).toBeUndefined();
    expect((await owner.get(`/guilds/${guildId}/emojis/${parrot.id}`)).body).toMatchObject({
      name: 'party_parrot',
      animated: true,
      user: { username: 'emoji_owner' },
    });
    expect((await owner.get(`/guilds/${guildId}/emojis/123456789012345678`)).body.code).toBe(10014);
    expect((await outsider.get(`/guilds/${guildId}/emojis`)).status).toBe(404);
    const guild = await bob.get(`/guilds/${guildId}`);
    expect(guild.body.emojis.map((e: { name: string }) => e.name)).toEqual(['wave', 'party_parrot']);
  });

  it('refuses bad images, names and roles with 50035, and emoji past the limit with 30008', async () => {
    const bad = async (body: Record<string, unknown>, field: string) => {
      const res = await owner.post(`/guilds/${guildId}/emojis`, body);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe(50035);
      expect(res.body.errors[field]).toBeDefined();
    };
    const image = dataUri('image/png', await png());
    await bad({ name: 'text', image: dataUri('image/png', Buffer.from('not an image at all')) }, 'image');
    await bad({ name: 'plain', image: 'https://example.com/a.png' }, 'image');
    await bad(
      { name: 'svg', image: `data:image/svg+xml;base64,${Buffer.from('<svg/>').toString('base64')}` },
      'image',
    );
    // 256 KiB at most (Discord's limit), counted on the decoded bytes.
    await bad({ name: 'huge', image: dataUri('image/png', Buffer.alloc(300 * 1024, 1)) }, 'image');
    await bad({ name: 'a', image }, 'name');
    await bad({ name: 'has space', image }, 'name');
    await bad({ name: 'x'.repeat(33), image }, 'name');
    await bad({ name: 'roles', image, roles: ['123456789012345678'] }, 'roles.0');

    // Limits from config: 2 static (one left), 1 animated (none left); each kind counted apart.
    const second = await owner.post(`/guilds/${guildId}/emojis`, { name: 'wave', image });
    expect(second.status).toBe(201); // Discord allows a name twice
    const third = await owner.post(`/guilds/${guildId}/emojis`, { name: 'third', image });
    expect(third.status).toBe(400);
    expect(third.body.code).toBe(30008);
    const gif = await owner.post(`/guilds/${guildId}/emojis`, {
      name: 'another',
      image: dataUri('image/gif', await animatedGif()),
    });
    expect(gif.body.code).toBe(30008);
    expect((await owner.delete(`/guilds/${guildId}/emojis/${second.body.id}`)).status).toBe(204);
  });

  it('renames and restricts with PATCH, logs create/update/delete in the audit log', async () => {
    expect((await bob.patch(`/guilds/${guildId}/emojis/${wave.id}`, { name: 'hi' })).status).toBe(403);
    const renamed = await owner.patch(`/guilds/${guildId}/emojis/${wave.id}`, { name: 'hello' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id: wave.id, name: 'hello', roles: [] });
    wave = renamed.body;
    expect((await owner.patch(`/guilds/${guildId}/emojis/${wave.id}`, { name: '!' })).status).toBe(400);

    const log = await owner.get(`/guilds/${guildId}/audit-logs`);
    const entries = log.body.audit_log_entries as {
      action_type: number;
      target_id: string;
      changes: unknown[];
    }[];
    expect(entries.filter((e) => e.action_type === 60).length).toBeGreaterThanOrEqual(2);
    expect(entries.find((e) => e.action_type === 61 && e.target_id === wave.id)?.changes).toEqual([
      { key: 'name', old_value: 'wave', new_value: 'hello' },
    ]);
    expect(entries.some((e) => e.action_type === 62)).toBe(true);
  });

  it('reacts with name:id, carries {id, name, animated}, and refuses unknown or foreign emoji (10014)', async () => {
    const message = (
      await owner.post(`/channels/${channelId}/messages`, { content: `hi <:hello:${wave.id}>` })
    ).body;
    expect(message.content).toBe(`hi <:hello:${wave.id}>`);
    const gateway = await GatewayClient.ready(server.gatewayUrl, owner.token ?? '');
    try {
      const route = `/channels/${channelId}/messages/${message.id}/reactions`;
      expect((await bob.put(`${route}/${encodeURIComponent(`party_parrot:${parrot.id}`)}/@me`)).status).toBe(
        204,
      );
      const add = await gateway.next('MESSAGE_REACTION_ADD', (p) => p.d.message_id === message.id);
      expect(add.d.emoji).toEqual({ id: parrot.id, name: 'party_parrot', animated: true });
      // The id decides, whatever the name in the route: one reaction, counted twice.
      expect((await owner.put(`${route}/${encodeURIComponent(`old_name:${parrot.id}`)}/@me`)).status).toBe(
        204,
      );
      expect((await owner.put(`${route}/${encodeURIComponent('👍')}/@me`)).status).toBe(204);

      const unknownEmoji = await owner.put(`${route}/${encodeURIComponent('ghost:123456789012345678')}/@me`);
      expect(unknownEmoji.status).toBe(404);
      expect(unknownEmoji.body.code).toBe(10014);

      // Another guild's emoji is unknown here.
      const other = await outsider.post('/guilds', { name: 'Elsewhere' });
      const foreign = await outsider.post(`/guilds/${other.body.id}/emojis`, {
        name: 'foreign',
        image: dataUri('image/png', await png()),
      });
      expect(foreign.status).toBe(201);
      const refused = await owner.put(`${route}/${encodeURIComponent(`foreign:${foreign.body.id}`)}/@me`);
      expect(refused.body.code).toBe(10014);

      const history = await bob.get(`/channels/${channelId}/messages?limit=5`);
      const fetched = history.body.find((m: { id: string }) => m.id === message.id);
      expect(fetched.reactions).toEqual([
        { emoji: { id: parrot.id, name: 'party_parrot', animated: true }, count: 2, me: true },
        { emoji: { name: '👍' }, count: 1, me: false },
      ]);
      const reactors = await owner.get(`${route}/${encodeURIComponent(`party_parrot:${parrot.id}`)}`);
      expect(reactors.body).toHaveLength(2);

      // A rename shows in existing reactions (they are keyed by id); a deleted emoji's reactions stay, unnamed.
      await owner.patch(`/guilds/${guildId}/emojis/${parrot.id}`, { name: 'parrot' });
      expect((await owner.delete(`/guilds/${guildId}/emojis/${parrot.id}`)).status).toBe(204);
      const update = await gateway.next(
        'GUILD_EMOJIS_UPDATE',
        (p) => p.d.guild_id === guildId && !p.d.emojis.some((e: { id: string }) => e.id === parrot.id),
      );
      expect(update.d.emojis.map((e: { id: string }) => e.id)).toEqual([wave.id]);
      const after = (await bob.get(`/channels/${channelId}/messages?limit=5`)).body.find(
        (m: { id: string }) => m.id === message.id,
      );
      expect(after.reactions[0]).toEqual({
        emoji: { id: parrot.id, name: null, animated: false },
        count: 2,
        me: true,
      });
      expect((await bob.delete(`${route}/${encodeURIComponent(`parrot:${parrot.id}`)}/@me`)).status).toBe(
        204,
      );
      // Once deleted, it cannot be added again.
      expect((await bob.put(`${route}/${encodeURIComponent(`parrot:${parrot.id}`)}/@me`)).body.code).toBe(
        10014,
      );
    } finally {
      gateway.close();
    }
  });

  it('limits a role-restricted emoji to members holding the role', async () => {
    const role = (await owner.post(`/guilds/${guildId}/roles`, { name: 'vip' })).body.id as string;
    const restricted = await owner.patch(`/guilds/${guildId}/emojis/${wave.id}`, { roles: [role] });
    expect(restricted.body.roles).toEqual([role]);
    const message = (await owner.post(`/channels/${channelId}/messages`, { content: 'vip only' })).body;
    const route = `/channels/${channelId}/messages/${message.id}/reactions/${encodeURIComponent(`hello:${wave.id}`)}/@me`;
    expect((await bob.put(route)).status).toBe(403);
    expect((await owner.put(route)).status).toBe(204);
    expect((await owner.patch(`/guilds/${guildId}/emojis/${wave.id}`, { roles: null })).body.roles).toEqual(
      [],
    );
    expect((await bob.put(route)).status).toBe(204);
  });
});
