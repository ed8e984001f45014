import { type Account, DiscordGatewayClient, type GatewayClient, Intents, useGatewayServer } from './harness';

type Update = { user: { id: string }; guild_id: string; status: string };

/**
 * gateway.presence_large_threshold (monolith, memory presence, real sockets): in a guild with more members than
 * the threshold, connects and disconnects are not announced to guild-mates; chosen statuses are, and READY still
 * lists who is online. Smaller guilds hear everything.
 */
describe('presence in large guilds', () => {
  const gw = useGatewayServer({ presence_large_threshold: 2 });
  const connect = (account: Account) => gw.connect(account);
  const discordClients: DiscordGatewayClient[] = [];
  afterEach(() => {
    for (const c of discordClients.splice(0)) c.close();
  });

  const updates = (client: GatewayClient, userId: string, guildId: string): string[] =>
    client
      .named('PRESENCE_UPDATE')
      .map((p: { d: Update }) => p.d)
      .filter((d: Update) => d.user.id === userId && d.guild_id === guildId)
      .map((d: Update) => d.status);

  it('announces only chosen statuses in a guild over the threshold, everything in one at or under it', async () => {
    const [watcher, mate, third, reader] = await Promise.all(
      ['pl_watch', 'pl_mate', 'pl_third', 'pl_read'].map((n) => gw.api.register(n)),
    );
    const large = await gw.api.guild(watcher, [mate, third, reader]); // 4 members > 2
    const small = await gw.api.guild(watcher, [mate]); // 2 members: not large
    const watcherWs = await connect(watcher);

    const mateWs = await connect(mate);
    await watcherWs.next('PRESENCE_UPDATE', (p) => p.d.user.id === mate.user.id && p.d.guild_id === small.id);

    // READY still tells a new session who is online in the large guild.
    const readerWs = await connect(reader);
    const listed = (readerWs.events[0].payload.d.presences as { user_id: string; status: string }[]).map(
      (p) => [p.user_id, p.status],
    );
    expect(listed).toEqual(
      expect.arrayContaining([
        [watcher.user.id, 'online'],
        [mate.user.id, 'online'],
      ]),
    );

    // A chosen status reaches both guilds.
    expect(await mateWs.socket.timeout(5000).emitWithAck('PRESENCE_UPDATE', { status: 'dnd' })).toEqual({
      ok: true,
      status: 'dnd',
    });
    await watcherWs.next(
      'PRESENCE_UPDATE',
      (p) => p.d.user.id === mate.user.id && p.d.guild_id === large.id && p.d.status === 'dnd',
    );
    await readerWs.next(
      'PRESENCE_UPDATE',
      (p) => p.d.user.id === mate.user.id && p.d.guild_id === large.id && p.d.status === 'dnd',
    );

    // Disconnecting: offline in the small guild only.
    mateWs.close();
    await watcherWs.next(
      'PRESENCE_UPDATE',
      (p) => p.d.user.id === mate.user.id && p.d.guild_id === small.id && p.d.status === 'offline',
    );
    // Sentinel: something sent to the large guild after the disconnect arrives after anything it caused.
    const thirdWs = await connect(third);
    await thirdWs.socket.timeout(5000).emitWithAck('PRESENCE_UPDATE', { status: 'idle' });
    await watcherWs.next('PRESENCE_UPDATE', (p) => p.d.user.id === third.user.id && p.d.status === 'idle');

    expect(updates(watcherWs, mate.user.id, small.id)).toEqual(['online', 'dnd', 'offline']);
    expect(updates(watcherWs, mate.user.id, large.id)).toEqual(['dnd']);
    expect(updates(watcherWs, third.user.id, large.id)).toEqual(['idle']);
    expect(updates(readerWs, mate.user.id, large.id)).toEqual(['dnd']);
  });

  it('sends typing in a guild over the threshold only to sessions that asked for it there; in a small one to all', async () => {
    const [typist, asker, other, fourth] = await Promise.all(
      ['ty_typist', 'ty_asker', 'ty_other', 'ty_fourth'].map((n) => gw.api.register(n)),
    );
    const large = await gw.api.guild(typist, [asker, other, fourth]); // 4 members > 2
    const small = await gw.api.guild(typist, [other]);
    // The typist has a nick and a role in the large guild: TYPING_START names them as the guild does.
    await gw.api.ok('PATCH', `/guilds/${large.id}/members/@me`, typist.token, { nick: 'Quick Fingers' });
    const role = await gw.api.ok<{ id: string }>('POST', `/guilds/${large.id}/roles`, typist.token, {
      name: 'typists',
    });
    await gw.api.ok('PUT', `/guilds/${large.id}/members/@me/roles/${role.id}`, typist.token);
    const [askerWs, otherWs] = await Promise.all([connect(asker), connect(other)]);
    // A Discord-protocol session takes typing by its intent, in large guilds too.
    const fourthDiscord = await DiscordGatewayClient.ready(
      gw.server.url,
      fourth.token,
      Intents.GUILDS | Intents.GUILD_MESSAGE_TYPING,
    );
    discordClients.push(fourthDiscord);
    const ask = (typing: boolean) =>
      askerWs.socket.timeout(5000).emitWithAck('GUILD_SUBSCRIPTIONS', { guild_id: large.id, typing });
    expect(await ask(true)).toEqual({ ok: true });

    const typingIn = (client: GatewayClient, channelId: string) =>
      client.named('TYPING_START').filter((p: { d: { channel_id: string } }) => p.d.channel_id === channelId);
    await gw.api.ok('POST', `/channels/${large.general}/typing`, typist.token);
    const typing = await askerWs.next('TYPING_START', (p) => p.d.channel_id === large.general);
    // Discord's `member` of who is typing, from the record the permission check loaded.
    expect(typing.d).toMatchObject({ guild_id: large.id, user_id: typist.user.id });
    expect(typing.d.member.user.id).toBe(typist.user.id);
    expect(typing.d.member.roles).toEqual([role.id]);
    expect(typing.d.member.nick).toBe('Quick Fingers');
    // The Discord gateway delivers the same object.
    const overDiscord = await fourthDiscord.next('TYPING_START', (d) => d.channel_id === large.general);
    expect(overDiscord.d).toEqual(typing.d);
    // Sentinel: the message comes after the typing in the same channel, to everyone who can see it.
    const first = await gw.api.send(typist, large.general, 'after typing');
    await otherWs.next('MESSAGE_CREATE', (p) => p.d.id === first.id);
    expect(typingIn(otherWs, large.general)).toEqual([]);

    // A small guild: everyone who can see the channel.
    await gw.api.ok('POST', `/channels/${small.general}/typing`, typist.token);
    await otherWs.next('TYPING_START', (p) => p.d.channel_id === small.general);

    // Asked no more: nothing (the message ended the typing, so this is a new one).
    expect(await ask(false)).toEqual({ ok: true });
    await gw.api.ok('POST', `/channels/${large.general}/typing`, typist.token);
    const second = await gw.api.send(typist, large.general, 'typed again');
    await askerWs.next('MESSAGE_CREATE', (p) => p.d.id === second.id);
    expect(typingIn(askerWs, large.general)).toHaveLength(1);
  });
});
