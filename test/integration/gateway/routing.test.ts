import { type Account, DiscordGatewayClient, Intents, VIEW_CHANNEL, useGatewayServer } from './harness';

/** Interest routing: who gets which event, in what order, over real sockets and real HTTP. */
describe('gateway routing', () => {
  const gw = useGatewayServer();
  const connect = (account: Account) => gw.connect(account);

  it('sends READY first with the session, user, guilds with channels and roles, DMs and read states', async () => {
    const owner = await gw.api.register('ready');
    const guild = await gw.api.guild(owner);
    const client = await connect(owner);
    expect(client.events[0].name).toBe('READY');
    const ready = client.events[0].payload;
    expect(ready.s).toBe(1);
    expect(typeof ready.d.session_id).toBe('string');
    expect(ready.d.user.id).toBe(owner.user.id);
    expect(ready.d.guilds).toHaveLength(1);
    expect(ready.d.guilds[0].id).toBe(guild.id);
    expect(ready.d.guilds[0].channels.map((c: { id: string }) => c.id)).toContain(guild.general);
    expect(ready.d.guilds[0].roles.length).toBeGreaterThan(0);
    expect(ready.d.private_channels).toEqual([]);
    expect(ready.d.read_states).toEqual([]);
  });

  it('delivers a channel message to members and not to non-members', async () => {
    const [owner, member, stranger] = await Promise.all([
      gw.api.register('own'),
      gw.api.register('mem'),
      gw.api.register('str'),
    ]);
    const guild = await gw.api.guild(owner, [member]);
    const [ownerWs, memberWs, strangerWs] = await Promise.all([
      connect(owner),
      connect(member),
      connect(stranger),
    ]);
    const message = await gw.api.send(owner, guild.general, 'hello members');
    const seen = await memberWs.next('MESSAGE_CREATE', (p) => p.d.id === message.id);
    expect(seen.d.content).toBe('hello members');
    await ownerWs.next('MESSAGE_CREATE', (p) => p.d.id === message.id);
    // Everything routed before the stranger's own sentinel has been routed to it: no guild message among it.
    await strangerWs.sentinel(await gw.api.touch(stranger));
    expect(strangerWs.named('MESSAGE_CREATE')).toEqual([]);
    expect(strangerWs.events.map((e) => e.name)).toEqual(['READY', 'USER_UPDATE']);
  });

  it('numbers dispatches per session, +1 each', async () => {
    const owner = await gw.api.register('seq');
    const guild = await gw.api.guild(owner);
    const ws = await connect(owner);
    for (let i = 0; i < 5; i++) await gw.api.send(owner, guild.general, `m${i}`);
    await ws.next('MESSAGE_CREATE', (p) => p.d.content === 'm4');
    const seqs = ws.events.map((e) => e.payload.s);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
  });

  it('stops delivering a channel to a member an overwrite denies VIEW_CHANNEL, at once', async () => {
    const [owner, member] = await Promise.all([gw.api.register('ow'), gw.api.register('denied')]);
    const guild = await gw.api.guild(owner, [member]);
    const secret = await gw.api.ok<{ id: string }>('POST', `/guilds/${guild.id}/channels`, owner.token, {
      name: 'secret',
    });
    const memberWs = await connect(member);
    const ownerWs = await connect(owner);
    const before = await gw.api.send(owner, secret.id, 'visible to all');
    await memberWs.next('MESSAGE_CREATE', (p) => p.d.id === before.id);

    await gw.api.ok('PUT', `/channels/${secret.id}/permissions/${member.user.id}`, owner.token, {
      type: 1,
      deny: VIEW_CHANNEL,
    });
    // The member is told the channel is gone for them; the owner sees the update.
    await memberWs.next('CHANNEL_DELETE', (p) => p.d.id === secret.id);
    await ownerWs.next('CHANNEL_UPDATE', (p) => p.d.id === secret.id);
    const hidden = await gw.api.send(owner, secret.id, 'not for the member');
    const general = await gw.api.send(owner, guild.general, 'still for the member');
    await ownerWs.next('MESSAGE_CREATE', (p) => p.d.id === hidden.id);
    await memberWs.next('MESSAGE_CREATE', (p) => p.d.id === general.id);
    expect(memberWs.named('MESSAGE_CREATE').map((p) => p.d.id)).toEqual([before.id, general.id]);
    expect(memberWs.named('CHANNEL_UPDATE')).toEqual([]);

    // Lifting the overwrite shows the channel again, as a create.
    await gw.api.ok('DELETE', `/channels/${secret.id}/permissions/${member.user.id}`, owner.token);
    await memberWs.next('CHANNEL_CREATE', (p) => p.d.id === secret.id);
    const again = await gw.api.send(owner, secret.id, 'visible again');
    await memberWs.next('MESSAGE_CREATE', (p) => p.d.id === again.id);
  });

  it('follows role changes: a role that grants VIEW_CHANNEL shows the channel, losing it hides it again', async () => {
    const [owner, member] = await Promise.all([gw.api.register('ro'), gw.api.register('rm')]);
    const guild = await gw.api.guild(owner, [member]);
    const role = await gw.api.ok<{ id: string }>('POST', `/guilds/${guild.id}/roles`, owner.token, {
      name: 'staff',
    });
    const staff = await gw.api.ok<{ id: string }>('POST', `/guilds/${guild.id}/channels`, owner.token, {
      name: 'staff-only',
      permission_overwrites: [
        { id: guild.id, type: 0, deny: VIEW_CHANNEL },
        { id: role.id, type: 0, allow: VIEW_CHANNEL },
      ],
    });
    const memberWs = await connect(member);
    expect(memberWs.events[0].payload.d.guilds[0].channels.map((c: { id: string }) => c.id)).not.toContain(
      staff.id,
    );

    await gw.api.ok('PATCH', `/guilds/${guild.id}/members/${member.user.id}`, owner.token, {
      roles: [role.id],
    });
    await memberWs.next('CHANNEL_CREATE', (p) => p.d.id === staff.id);
    const inside = await gw.api.send(owner, staff.id, 'for staff');
    await memberWs.next('MESSAGE_CREATE', (p) => p.d.id === inside.id);

    await gw.api.ok('PATCH', `/guilds/${guild.id}/members/${member.user.id}`, owner.token, { roles: [] });
    await memberWs.next('CHANNEL_DELETE', (p) => p.d.id === staff.id);
    const after = await gw.api.send(owner, staff.id, 'staff again');
    const sentinel = await memberWs.sentinel(await gw.api.touch(member));
    expect(memberWs.named('MESSAGE_CREATE').map((p) => p.d.id)).not.toContain(after.id);
    expect(sentinel).toBeGreaterThan(0);

    // Deleting the role takes it away from the member too.
    await gw.api.ok('PATCH', `/guilds/${guild.id}/members/${member.user.id}`, owner.token, {
      roles: [role.id],
    });
    await memberWs.next('CHANNEL_CREATE', (p) => p.d.id === staff.id, sentinel);
    await gw.api.ok('DELETE', `/guilds/${guild.id}/roles/${role.id}`, owner.token);
    await memberWs.next('CHANNEL_DELETE', (p) => p.d.id === staff.id, sentinel);
  });

  it('a deleted guild reaches every member as GUILD_DELETE, then nothing more', async () => {
    const [owner, member] = await Promise.all([gw.api.register('gd'), gw.api.register('gdm')]);
    const guild = await gw.api.guild(owner, [member]);
    const [ownerWs, memberWs] = await Promise.all([connect(owner), connect(member)]);
    await gw.api.ok('DELETE', `/guilds/${guild.id}`, owner.token);
    await ownerWs.next('GUILD_DELETE', (p) => p.d.id === guild.id);
    const at = await memberWs.waitIndex('GUILD_DELETE', (p) => p.d.id === guild.id);
    const sentinel = await memberWs.sentinel(await gw.api.touch(member));
    expect(sentinel).toBe(at + 1);
  });

  it('exposes gateway metrics', async () => {
    const owner = await gw.api.register('metrics');
    await connect(owner);
    const text = await (await fetch(`${gw.server.url}/metrics`)).text();
    expect(text).toMatch(/^parley_gateway_connected_sockets [1-9]/m);
    expect(text).toMatch(/^parley_gateway_sessions\{state="live"\} [1-9]/m);
    expect(text).toMatch(/^parley_gateway_dispatches_total\{type="MESSAGE_CREATE"\} [1-9]/m);
    // Every fan-out with recipients is timed (the messages of the tests before this one had some).
    expect(text).toMatch(/^parley_gateway_fanout_seconds_count [1-9]/m);
    expect(text).toContain('parley_gateway_slow_consumer_disconnects_total');
    expect(text).toContain('parley_gateway_resumes_total');
    expect(text).toContain('nodejs_eventloop_lag_p99_seconds');
  });

  it('sends a new channel only to those who may view it', async () => {
    const [owner, member] = await Promise.all([gw.api.register('cc'), gw.api.register('ccm')]);
    const guild = await gw.api.guild(owner, [member]);
    const [ownerWs, memberWs] = await Promise.all([connect(owner), connect(member)]);
    const hidden = await gw.api.ok<{ id: string }>('POST', `/guilds/${guild.id}/channels`, owner.token, {
      name: 'staff',
      permission_overwrites: [{ id: guild.id, type: 0, deny: VIEW_CHANNEL }],
    });
    await ownerWs.next('CHANNEL_CREATE', (p) => p.d.id === hidden.id);
    await memberWs.sentinel(await gw.api.touch(member));
    expect(memberWs.named('CHANNEL_CREATE')).toEqual([]);
    const open = await gw.api.ok<{ id: string }>('POST', `/guilds/${guild.id}/channels`, owner.token, {
      name: 'open',
    });
    await memberWs.next('CHANNEL_CREATE', (p) => p.d.id === open.id);
  });

  for (const action of ['kick', 'ban'] as const) {
    it(`${action}: the member gets GUILD_DELETE and nothing more from that guild`, async () => {
      const [owner, member] = await Promise.all([gw.api.register('mod'), gw.api.register(action)]);
      const guild = await gw.api.guild(owner, [member]);
      const memberWs = await connect(member);
      const first = await gw.api.send(owner, guild.general, 'before');
      await memberWs.next('MESSAGE_CREATE', (p) => p.d.id === first.id);

      if (action === 'kick')
        await gw.api.ok('DELETE', `/guilds/${guild.id}/members/${member.user.id}`, owner.token);
      else await gw.api.ok('PUT', `/guilds/${guild.id}/bans/${member.user.id}`, owner.token, {});
      const deleted = await memberWs.waitIndex('GUILD_DELETE', (p) => p.d.id === guild.id);

      await gw.api.send(owner, guild.general, 'after');
      await gw.api.ok('POST', `/channels/${guild.general}/typing`, owner.token);
      await gw.api.ok('PATCH', `/guilds/${guild.id}`, owner.token, { name: 'renamed' });
      await gw.api.ok('POST', `/guilds/${guild.id}/channels`, owner.token, { name: 'new' });
      const sentinel = await memberWs.sentinel(await gw.api.touch(member));
      expect(memberWs.events.slice(deleted + 1, sentinel).map((e) => e.name)).toEqual([]);
      expect(memberWs.named('GUILD_MEMBER_REMOVE')).toEqual([]);
    });
  }

  it('delivers create, edit, reactions and delete of a message in order', async () => {
    const [owner, member] = await Promise.all([gw.api.register('ord'), gw.api.register('ordm')]);
    const guild = await gw.api.guild(owner, [member]);
    const memberWs = await connect(member);
    const m = await gw.api.send(owner, guild.general, 'first');
    await gw.api.ok('PATCH', `/channels/${guild.general}/messages/${m.id}`, owner.token, {
      content: 'edited',
    });
    await gw.api.ok(
      'PUT',
      `/channels/${guild.general}/messages/${m.id}/reactions/${encodeURIComponent('👍')}/@me`,
      owner.token,
    );
    await gw.api.ok(
      'PUT',
      `/channels/${guild.general}/messages/${m.id}/reactions/${encodeURIComponent('👍')}/@me`,
      member.token,
    );
    await gw.api.ok(
      'DELETE',
      `/channels/${guild.general}/messages/${m.id}/reactions/${encodeURIComponent('👍')}/@me`,
      owner.token,
    );
    await gw.api.ok('DELETE', `/channels/${guild.general}/messages/${m.id}`, owner.token);
    await memberWs.next('MESSAGE_DELETE', (p) => p.d.id === m.id);
    const about = memberWs.events.filter(
      (e) => e.payload?.d?.id === m.id || e.payload?.d?.message_id === m.id,
    );
    expect(about.map((e) => e.name)).toEqual([
      'MESSAGE_CREATE',
      'MESSAGE_UPDATE',
      'MESSAGE_REACTION_ADD',
      'MESSAGE_REACTION_ADD',
      'MESSAGE_REACTION_REMOVE',
      'MESSAGE_DELETE',
    ]);
    expect(about[1].payload.d.content).toBe('edited');
    expect(about.map((e) => e.payload.s)).toEqual([...about.map((e) => e.payload.s)].sort((a, b) => a - b));
  });

  it("carries the author's guild member (Discord's partial: nick, roles, no user) on both gateways; not from webhooks or system messages", async () => {
    const [owner, author] = await Promise.all([gw.api.register('mmo'), gw.api.register('mma')]);
    const guild = await gw.api.guild(owner, [author]);
    await gw.api.ok('PATCH', `/guilds/${guild.id}/members/@me`, author.token, { nick: 'Scribe' });
    const role = await gw.api.ok<{ id: string }>('POST', `/guilds/${guild.id}/roles`, owner.token, {
      name: 'writers',
    });
    await gw.api.ok('PUT', `/guilds/${guild.id}/members/${author.user.id}/roles/${role.id}`, owner.token);
    const ownerWs = await connect(owner);
    // Without MESSAGE_CONTENT: the blanked copy a Discord session gets keeps the member.
    const discord = await DiscordGatewayClient.ready(
      gw.server.url,
      owner.token,
      Intents.GUILDS | Intents.GUILD_MESSAGES,
    );
    try {
      const sent = await gw.api.send(author, guild.general, 'signed');
      // The REST answer is Discord's REST message: no member.
      expect(sent).not.toHaveProperty('member');
      const live = await ownerWs.next('MESSAGE_CREATE', (p) => p.d.id === sent.id);
      expect(live.d.member).toEqual({
        nick: 'Scribe',
        roles: [role.id],
        joined_at: expect.any(String),
        communication_disabled_until: null,
      });
      const overDiscord = await discord.next('MESSAGE_CREATE', (d) => d.id === sent.id);
      expect(overDiscord.d.content).toBe('');
      expect(overDiscord.d.member).toEqual(live.d.member);

      // The author's edit carries it too.
      await gw.api.ok('PATCH', `/channels/${guild.general}/messages/${sent.id}`, author.token, {
        content: 'signed, edited',
      });
      const edited = await ownerWs.next('MESSAGE_UPDATE', (p) => p.d.id === sent.id);
      expect(edited.d.member).toEqual(live.d.member);
      expect((await discord.next('MESSAGE_UPDATE', (d) => d.id === sent.id)).d.member).toEqual(live.d.member);

      // A pin's system message and a webhook's message have none (as on Discord).
      await gw.api.ok('PUT', `/channels/${guild.general}/pins/${sent.id}`, owner.token);
      const pinned = await ownerWs.next('MESSAGE_CREATE', (p) => p.d.type === 6);
      expect(pinned.d).not.toHaveProperty('member');
      const hook = await gw.api.ok<{ id: string; token: string }>(
        'POST',
        `/channels/${guild.general}/webhooks`,
        owner.token,
        { name: 'Hook' },
      );
      const fromHook = await gw.api.ok<{ id: string }>(
        'POST',
        `/webhooks/${hook.id}/${hook.token}?wait=true`,
        undefined,
        {
          content: 'from a hook',
        },
      );
      expect((await ownerWs.next('MESSAGE_CREATE', (p) => p.d.id === fromHook.id)).d).not.toHaveProperty(
        'member',
      );
      expect((await discord.next('MESSAGE_CREATE', (d) => d.id === fromHook.id)).d).not.toHaveProperty(
        'member',
      );
    } finally {
      discord.close();
    }
  });

  it('keeps order in a channel under concurrent sends', async () => {
    const [a, b] = await Promise.all([gw.api.register('ca'), gw.api.register('cb')]);
    const guild = await gw.api.guild(a, [b]);
    const [aWs, bWs] = await Promise.all([connect(a), connect(b)]);
    const sent = await Promise.all(
      Array.from({ length: 30 }, (_, i) => gw.api.send(i % 2 ? a : b, guild.general, `c${i}`)),
    );
    const last = sent
      .map((m) => m.id)
      .sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1))
      .at(-1)!;
    await aWs.next('MESSAGE_CREATE', (p) => p.d.id === last);
    await bWs.next('MESSAGE_CREATE', (p) => p.d.id === last);
    // Both sessions see the same order, each with every message exactly once.
    const aIds = aWs.named('MESSAGE_CREATE').map((p) => p.d.id);
    const bIds = bWs.named('MESSAGE_CREATE').map((p) => p.d.id);
    expect(aIds).toEqual(bIds);
    expect(new Set(aIds).size).toBe(30);
  });

  it('sends typing to those who can see the channel, not to others', async () => {
    const [owner, member, outsider, denied] = await Promise.all([
      gw.api.register('ty'),
      gw.api.register('tym'),
      gw.api.register('tyo'),
      gw.api.register('tyd'),
    ]);
    const guild = await gw.api.guild(owner, [member, denied]);
    await gw.api.ok('PUT', `/channels/${guild.general}/permissions/${denied.user.id}`, owner.token, {
      type: 1,
      deny: VIEW_CHANNEL,
    });
    const [memberWs, outsiderWs, deniedWs] = await Promise.all([
      connect(member),
      connect(outsider),
      connect(denied),
    ]);
    await gw.api.ok('POST', `/channels/${guild.general}/typing`, owner.token);
    const typing = await memberWs.next('TYPING_START', (p) => p.d.user_id === owner.user.id);
    expect(typing.d.channel_id).toBe(guild.general);
    // Discord's guild member of who is typing (no roles and no nick here; presence-large.test.ts sets both).
    expect(typing.d.member).toMatchObject({ user: { id: owner.user.id }, roles: [], nick: null });
    await outsiderWs.sentinel(await gw.api.touch(outsider));
    await deniedWs.sentinel(await gw.api.touch(denied));
    expect(outsiderWs.named('TYPING_START')).toEqual([]);
    expect(deniedWs.named('TYPING_START')).toEqual([]);
  });

  it('sends presence to guild-mates only, with a status set over the socket, and offline after the last session', async () => {
    const [alice, mate, outsider] = await Promise.all([
      gw.api.register('pa'),
      gw.api.register('pm'),
      gw.api.register('po'),
    ]);
    await gw.api.guild(alice, [mate]);
    const [mateWs, outsiderWs] = await Promise.all([connect(mate), connect(outsider)]);
    const aliceWs = await connect(alice);
    await mateWs.next('PRESENCE_UPDATE', (p) => p.d.user.id === alice.user.id && p.d.status === 'online');

    const ack = await aliceWs.socket.timeout(5000).emitWithAck('PRESENCE_UPDATE', { status: 'dnd' });
    expect(ack).toEqual({ ok: true, status: 'dnd' });
    await mateWs.next('PRESENCE_UPDATE', (p) => p.d.user.id === alice.user.id && p.d.status === 'dnd');
    // Invisible looks offline to others.
    await aliceWs.socket.timeout(5000).emitWithAck('PRESENCE_UPDATE', { status: 'invisible' });
    await mateWs.next('PRESENCE_UPDATE', (p) => p.d.user.id === alice.user.id && p.d.status === 'offline');
    await aliceWs.socket.timeout(5000).emitWithAck('PRESENCE_UPDATE', { status: 'idle' });
    const idle = await mateWs.waitIndex(
      'PRESENCE_UPDATE',
      (p) => p.d.user.id === alice.user.id && p.d.status === 'idle',
    );
    // Closing the last session on purpose ends it: offline at once.
    aliceWs.close();
    await mateWs.next(
      'PRESENCE_UPDATE',
      (p) => p.d.user.id === alice.user.id && p.d.status === 'offline',
      idle,
    );

    await outsiderWs.sentinel(await gw.api.touch(outsider));
    expect(outsiderWs.named('PRESENCE_UPDATE')).toEqual([]);
  });

  it('keeps a user’s sessions in sync with MESSAGE_ACK', async () => {
    const owner = await gw.api.register('ack');
    const guild = await gw.api.guild(owner);
    const [one, two] = await Promise.all([connect(owner), connect(owner)]);
    const m = await gw.api.send(owner, guild.general, 'read me');
    await gw.api.ok('POST', `/channels/${guild.general}/messages/${m.id}/ack`, owner.token, {});
    for (const ws of [one, two]) {
      const ack = await ws.next('MESSAGE_ACK');
      expect(ack.d).toMatchObject({ channel_id: guild.general, message_id: m.id });
    }
  });

  it('delivers DMs (and typing in them) to the recipients only, including a DM opened while connected', async () => {
    const [a, b, c] = await Promise.all([
      gw.api.register('da'),
      gw.api.register('db'),
      gw.api.register('dc'),
    ]);
    const [bWs, cWs] = await Promise.all([connect(b), connect(c)]);
    // Strangers: b takes DMs from anyone (the default is users sharing a guild, docs/moderation.md).
    await gw.api.ok('PATCH', '/users/@me/privacy', b.token, { direct_messages: 'everyone' });
    const dm = await gw.api.ok<{ id: string }>('POST', '/users/@me/channels', a.token, {
      recipient_id: b.user.id,
    });
    await bWs.next('CHANNEL_CREATE', (p) => p.d.id === dm.id);
    // Typing in a DM: no guild, so no member (as on Discord).
    await gw.api.ok('POST', `/channels/${dm.id}/typing`, a.token);
    const typing = await bWs.next('TYPING_START', (p) => p.d.channel_id === dm.id);
    expect(typing.d).toEqual({ channel_id: dm.id, user_id: a.user.id, timestamp: expect.any(Number) });
    const m = await gw.api.send(a, dm.id, 'psst');
    // No guild, no member.
    expect((await bWs.next('MESSAGE_CREATE', (p) => p.d.id === m.id)).d).not.toHaveProperty('member');
    await cWs.sentinel(await gw.api.touch(c));
    expect(cWs.named('MESSAGE_CREATE')).toEqual([]);
  });

  it('a member who joins gets GUILD_CREATE, then the guild’s events', async () => {
    const [owner, joiner] = await Promise.all([gw.api.register('jo'), gw.api.register('jn')]);
    const guild = await gw.api.guild(owner);
    const joinerWs = await connect(joiner);
    const invite = await gw.api.ok<{ code: string }>(
      'POST',
      `/channels/${guild.general}/invites`,
      owner.token,
      {},
    );
    await gw.api.ok('POST', `/invites/${invite.code}`, joiner.token);
    const created = await joinerWs.waitIndex('GUILD_CREATE', (p) => p.d.id === guild.id);
    const m = await gw.api.send(owner, guild.general, 'welcome');
    const got = await joinerWs.waitIndex('MESSAGE_CREATE', (p) => p.d.id === m.id);
    expect(got).toBeGreaterThan(created);
  });
});
