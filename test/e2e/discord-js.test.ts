import {
  Client as DiscordClient,
  EmbedBuilder,
  Events,
  GatewayIntentBits,
  type GuildMember,
  type Message,
  type Typing,
  WebhookClient,
} from 'discord.js';
import { TcpProxy } from '../support/tcp-proxy';
import { Client, type ServerProcess, startServer, tempDir, waitFor } from './harness';

// Discord's application flags for privileged intents (GATEWAY_GUILD_MEMBERS, GATEWAY_MESSAGE_CONTENT).
const APP_FLAGS = (1 << 14) | (1 << 18);
const MANAGE_ROLES = String(1 << 28);

/**
 * The proof of issue 21: an unmodified discord.js 14 bot from npm against a real Parley server. Its REST calls go
 * to `/api/v10` (only `rest.api` is configured, as for any self-hosted Discord-compatible server); its gateway
 * URL comes from `GET /gateway/bot` and reaches the Discord gateway through a TCP proxy the test can cut.
 */
describe('an unmodified discord.js 14 bot against Parley (SQLite)', () => {
  const dir = tempDir();
  const proxy = new TcpProxy();
  let server: ServerProcess;
  let bot: DiscordClient;
  let owner: Client;
  let guildId: string;
  let generalId: string;
  let appId: string;
  let botToken: string;
  const received: Message[] = [];
  const joined: GuildMember[] = [];
  const typings: Typing[] = [];
  let resumes = 0;

  beforeAll(async () => {
    const port = await proxy.listen();
    server = await startServer({
      PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
      PARLEY__RATE_LIMITS__ENABLED: 'false',
      PARLEY__GATEWAY__DISCORD_URL: `ws://127.0.0.1:${port}/discord-gateway`,
    });
    proxy.forwardTo(server.gatewayUrl);
    owner = new Client(server.url);
    await owner.register('owner');
    const guild = await owner.post('/guilds', { name: 'Bot test' });
    guildId = guild.body.id;
    const channels = await owner.get(`/guilds/${guildId}/channels`);
    generalId = channels.body.find((c: { name: string }) => c.name === 'general').id;
  });

  afterAll(async () => {
    await bot?.destroy();
    await proxy.close();
    await server?.stop();
    dir.remove();
  });

  it('creates a bot application (token shown once, bot: true) and a guild manager adds it', async () => {
    const app = await owner.post('/applications', { name: 'Echo Bot', flags: APP_FLAGS });
    expect(app.status).toBe(201);
    expect(app.body).toMatchObject({ name: 'Echo Bot', flags: APP_FLAGS, bot: { bot: true } });
    expect(app.body.bot.id).toBe(app.body.id);
    appId = app.body.id;
    botToken = app.body.token;
    // The owner's list (GET /applications) has it, without its token; a bot owns none.
    const listed = await owner.get('/applications');
    expect(listed.body).toEqual([expect.objectContaining({ id: appId, name: 'Echo Bot', flags: APP_FLAGS })]);
    expect(listed.body[0].token).toBeUndefined();
    const added = await owner.put(`/guilds/${guildId}/members/${appId}`);
    expect(added.status).toBe(201);
    expect(added.body.user).toMatchObject({ id: appId, bot: true });
    expect((await owner.put(`/guilds/${guildId}/members/${appId}`)).status).toBe(204);
    // A role that lets the bot manage roles below it.
    const role = await owner.post(`/guilds/${guildId}/roles`, {
      name: 'Bot manager',
      permissions: MANAGE_ROLES,
      position: 5,
    });
    expect(role.status).toBe(201);
    expect((await owner.put(`/guilds/${guildId}/members/${appId}/roles/${role.body.id}`)).status).toBe(204);
  });

  it('logs in and is ready with its guild', async () => {
    bot = new DiscordClient({
      intents: [
        GatewayIntentBits.Guilds,
        GatewayIntentBits.GuildMembers,
        GatewayIntentBits.GuildMessages,
        GatewayIntentBits.GuildMessageReactions,
        GatewayIntentBits.GuildMessageTyping,
        GatewayIntentBits.MessageContent,
      ],
      rest: { api: `${server.url}/api` },
    });
    bot.on(Events.MessageCreate, (m) => void received.push(m));
    bot.on(Events.GuildMemberAdd, (m) => void joined.push(m));
    bot.on(Events.TypingStart, (t) => void typings.push(t));
    bot.on(Events.ShardResume, () => void resumes++);
    const ready = new Promise<void>((resolve) => bot.once(Events.ClientReady, () => resolve()));
    await bot.login(botToken);
    await ready;
    expect(bot.user?.id).toBe(appId);
    expect(bot.user?.bot).toBe(true);
    expect(bot.guilds.cache.get(guildId)?.name).toBe('Bot test');
    expect(bot.channels.cache.get(generalId)?.isTextBased()).toBe(true);
  });

  it("gets a person's message, replies, reacts, edits and deletes its reply, and reads history", async () => {
    const sent = await owner.post(`/channels/${generalId}/messages`, { content: '!ping from a person' });
    const message = await waitFor(() => received.find((m) => m.id === sent.body.id), 'messageCreate');
    expect(message.content).toBe('!ping from a person');
    expect(message.author.bot).toBe(false);
    // Ids count from Discord's epoch on a new instance: discord.js decodes the id's time to the timestamp.
    expect(message.createdTimestamp).toBe(Date.parse(sent.body.timestamp));

    const reply = await message.reply('pong');
    const stored = await owner.get(`/channels/${generalId}/messages/${reply.id}`);
    expect(stored.body).toMatchObject({
      content: 'pong',
      type: 19,
      author: { id: appId, bot: true },
      message_reference: { message_id: message.id },
    });

    await message.react('👍');
    const reacted = await owner.get(`/channels/${generalId}/messages/${message.id}`);
    expect(reacted.body.reactions).toEqual([
      { emoji: expect.objectContaining({ name: '👍' }), count: 1, me: false },
    ]);

    const edited = await reply.edit('pong (edited)');
    expect(edited.content).toBe('pong (edited)');
    expect((await owner.get(`/channels/${generalId}/messages/${reply.id}`)).body.content).toBe(
      'pong (edited)',
    );

    const history = await message.channel.messages.fetch({ limit: 10 });
    expect(history.has(message.id)).toBe(true);
    expect(history.has(reply.id)).toBe(true);

    await reply.delete();
    expect((await owner.get(`/channels/${generalId}/messages/${reply.id}`)).status).toBe(404);
  });

  it('sees a member join, creates a role and assigns it', async () => {
    const invite = await owner.post(`/channels/${generalId}/invites`, {});
    const alice = new Client(server.url);
    const aliceUser = await alice.register('alice');
    expect((await alice.post(`/invites/${invite.body.code}`)).status).toBe(200);
    const member = await waitFor(() => joined.find((m) => m.id === aliceUser.id), 'guildMemberAdd');
    expect(member.guild.id).toBe(guildId);

    const guild = bot.guilds.cache.get(guildId)!;
    const role = await guild.roles.create({ name: 'Helpers', hoist: true, mentionable: true });
    expect(role.name).toBe('Helpers');
    // The whole member list over the gateway (REQUEST_GUILD_MEMBERS -> GUILD_MEMBERS_CHUNK).
    const everyone = await guild.members.fetch();
    expect([...everyone.keys()]).toEqual(expect.arrayContaining([appId, aliceUser.id]));
    const fetched = await guild.members.fetch(aliceUser.id);
    await fetched.roles.add(role);
    const stored = await owner.get(`/guilds/${guildId}/members/${aliceUser.id}`);
    expect(stored.body.roles).toContain(role.id);
  });

  it('gets typingStart with the member who types, even one it does not hold (their nick and roles)', async () => {
    const invite = await owner.post(`/channels/${generalId}/invites`, {});
    const typist = new Client(server.url);
    const typistUser = await typist.register('typist');
    expect((await typist.post(`/invites/${invite.body.code}`)).status).toBe(200);
    expect((await typist.patch(`/guilds/${guildId}/members/@me`, { nick: 'Tippy' })).status).toBe(200);
    const role = await owner.post(`/guilds/${guildId}/roles`, { name: 'Typists' });
    expect(
      (await owner.put(`/guilds/${guildId}/members/${typistUser.id}/roles/${role.body.id}`)).status,
    ).toBe(204);
    // Once the bot has seen the join and both updates, it forgets the member, as a bot with a bounded member cache
    // does in a large guild: without Discord's `member` in TYPING_START (and no partials), discord.js would drop
    // the event, having no user to give it.
    const guild = bot.guilds.cache.get(guildId)!;
    await waitFor(
      () => guild.members.cache.get(typistUser.id)?.roles.cache.has(role.body.id),
      'the member update',
    );
    guild.members.cache.delete(typistUser.id);
    bot.users.cache.delete(typistUser.id);

    expect((await typist.post(`/channels/${generalId}/typing`)).status).toBe(204);
    const typing = await waitFor(() => typings.find((t) => t.user.id === typistUser.id), 'typingStart');
    expect(typing.channel.id).toBe(generalId);
    expect(typing.guild?.id).toBe(guildId);
    expect(typing.member?.nickname).toBe('Tippy');
    expect(typing.member?.roles.cache.has(role.body.id)).toBe(true);
    expect(typing.user.username).toBe(typistUser.username);
  });

  it('gets message.member from the message, for an author it does not hold (their nick and roles)', async () => {
    const invite = await owner.post(`/channels/${generalId}/invites`, {});
    const writer = new Client(server.url);
    const writerUser = await writer.register('writer');
    expect((await writer.post(`/invites/${invite.body.code}`)).status).toBe(200);
    expect((await writer.patch(`/guilds/${guildId}/members/@me`, { nick: 'Quill' })).status).toBe(200);
    const role = await owner.post(`/guilds/${guildId}/roles`, { name: 'Writers' });
    expect(
      (await owner.put(`/guilds/${guildId}/members/${writerUser.id}/roles/${role.body.id}`)).status,
    ).toBe(204);
    // Forgotten once the bot has seen the updates, as by a bounded member cache in a large guild: the member comes
    // back only from Discord's `member` on the MESSAGE_CREATE.
    const guild = bot.guilds.cache.get(guildId)!;
    await waitFor(
      () => guild.members.cache.get(writerUser.id)?.roles.cache.has(role.body.id),
      'the member update',
    );
    guild.members.cache.delete(writerUser.id);
    bot.users.cache.delete(writerUser.id);

    const sent = await writer.post(`/channels/${generalId}/messages`, { content: 'written' });
    const message = await waitFor(() => received.find((m) => m.id === sent.body.id), 'messageCreate');
    expect(message.member?.id).toBe(writerUser.id);
    expect(message.member?.nickname).toBe('Quill');
    expect(message.member?.roles.cache.has(role.body.id)).toBe(true);
    expect(message.member?.user.username).toBe(writerUser.username);
    expect(guild.members.cache.get(writerUser.id)?.displayName).toBe('Quill');
  });

  it('sends through WebhookClient (with an embed), and the bot sees a webhook message', async () => {
    const created = await owner.post(`/channels/${generalId}/webhooks`, { name: 'Notifier' });
    expect(created.status).toBe(200);
    const { id, token } = created.body as { id: string; token: string };
    const webhook = new WebhookClient({ id, token }, { rest: { api: `${server.url}/api` } });
    try {
      const embed = new EmbedBuilder()
        .setTitle('Build passed')
        .setDescription('main is green')
        .setColor(0x2ecc71)
        .addFields({ name: 'commit', value: 'abc1234', inline: true })
        .setTimestamp(new Date('2026-12-06T09:00:00.000Z'));
      const sent = await webhook.send({ content: 'from a webhook', username: 'CI', embeds: [embed] });
      expect(sent).toMatchObject({
        webhook_id: id,
        content: 'from a webhook',
        author: { username: 'CI', bot: true },
      });
      const seen = await waitFor(
        () => received.find((m) => m.id === sent.id),
        'messageCreate of the webhook',
      );
      expect(seen.webhookId).toBe(id);
      expect(seen.author.username).toBe('CI');
      expect(seen.embeds[0].title).toBe('Build passed');
      expect(seen.embeds[0].fields).toEqual([{ name: 'commit', value: 'abc1234', inline: true }]);
    } finally {
      webhook.destroy();
    }
  });

  it('survives a dropped socket by resuming, without missing a messageCreate', async () => {
    const before = resumes;
    expect(proxy.connections).toBeGreaterThan(0);
    proxy.dropAll();
    const whileAway = await owner.post(`/channels/${generalId}/messages`, {
      content: 'sent while the bot was away',
    });
    const after = await owner.post(`/channels/${generalId}/messages`, { content: 'and another one' });
    await waitFor(() => received.some((m) => m.id === after.body.id), 'the messages after the drop');
    expect(received.some((m) => m.id === whileAway.body.id)).toBe(true);
    await waitFor(() => resumes > before, 'shardResume');
    // Exactly once each: a resume replays what was missed, nothing twice.
    expect(received.filter((m) => m.id === whileAway.body.id)).toHaveLength(1);
  });
});
