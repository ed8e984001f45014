import { type Account, Api, VIEW_CHANNEL, startServer, type TestServer } from '../gateway/harness';

/**
 * Mention counts over real HTTP against the monolith on a real SQLite file: a mention counts only for a user
 * who may see the channel (VIEW_CHANNEL through roles and overwrites, or DM recipient).
 */
describe('mention counts follow who may see the channel', () => {
  let server: TestServer;
  let api: Api;
  let owner: Account;
  let alice: Account;
  let bob: Account;
  let stranger: Account;
  let guild: { id: string; general: string };

  const mentionCount = async (account: Account, channelId: string): Promise<number> => {
    const states = await api.ok<{ channel_id: string; mention_count: number }[]>(
      'GET',
      '/users/@me/read-states',
      account.token,
    );
    return states.find((s) => s.channel_id === channelId)?.mention_count ?? 0;
  };
  const mention = (...accounts: Account[]) => accounts.map((a) => `<@${a.user.id}>`).join(' ');

  beforeAll(async () => {
    server = await startServer();
    api = new Api(server.url);
    [owner, alice, bob, stranger] = await Promise.all([
      api.register('men_owner'),
      api.register('men_alice'),
      api.register('men_bob'),
      api.register('men_stranger'),
    ]);
    guild = await api.guild(owner, [alice, bob]);
  });

  afterAll(async () => {
    await server?.close();
  });

  it('counts in a channel everyone sees, for members only', async () => {
    const msg = await api.send(owner, guild.general, `hi ${mention(alice, bob, stranger)}`);
    expect(msg.content).toContain(alice.user.id);
    expect(await mentionCount(alice, guild.general)).toBe(1);
    expect(await mentionCount(bob, guild.general)).toBe(1);
    expect(await mentionCount(stranger, guild.general)).toBe(0);
  });

  it('does not count for a member an overwrite hides the channel from; counts once a role lets them see it', async () => {
    // @everyone (role id = guild id) denied VIEW_CHANNEL, alice allowed by a member overwrite.
    const secret = await api.ok<{ id: string }>('POST', `/guilds/${guild.id}/channels`, owner.token, {
      name: 'secret',
      type: 0,
      permission_overwrites: [
        { id: guild.id, type: 0, allow: '0', deny: VIEW_CHANNEL },
        { id: alice.user.id, type: 1, allow: VIEW_CHANNEL, deny: '0' },
      ],
    });
    await api.send(owner, secret.id, `psst ${mention(alice, bob, stranger)}`);
    expect(await mentionCount(alice, secret.id)).toBe(1);
    expect(await mentionCount(bob, secret.id)).toBe(0);
    expect(await mentionCount(stranger, secret.id)).toBe(0);
    // Bob cannot see the channel at all (404), so nothing about it may be counted for him.
    expect((await api.call('GET', `/channels/${secret.id}`, bob.token)).status).toBe(404);

    // A role with an allow overwrite on the channel: bob, given the role, now sees it and is counted.
    const staff = await api.ok<{ id: string }>('POST', `/guilds/${guild.id}/roles`, owner.token, {
      name: 'staff',
      permissions: '0',
    });
    await api.ok('PUT', `/channels/${secret.id}/permissions/${staff.id}`, owner.token, {
      type: 0,
      allow: VIEW_CHANNEL,
      deny: '0',
    });
    await api.ok('PATCH', `/guilds/${guild.id}/members/${bob.user.id}`, owner.token, { roles: [staff.id] });
    await api.send(owner, secret.id, `again ${mention(alice, bob)}`);
    expect(await mentionCount(alice, secret.id)).toBe(2);
    expect(await mentionCount(bob, secret.id)).toBe(1);

    // A member overwrite denying bob wins over his role's allow.
    await api.ok('PUT', `/channels/${secret.id}/permissions/${bob.user.id}`, owner.token, {
      type: 1,
      allow: '0',
      deny: VIEW_CHANNEL,
    });
    await api.send(owner, secret.id, `once more ${mention(bob)}`);
    expect(await mentionCount(bob, secret.id)).toBe(1);
  });

  it('counts in a DM only for its recipients', async () => {
    const dm = await api.ok<{ id: string }>('POST', '/users/@me/channels', owner.token, {
      recipient_id: alice.user.id,
    });
    await api.send(owner, dm.id, `dm ${mention(alice, bob)}`);
    expect(await mentionCount(alice, dm.id)).toBe(1);
    expect(await mentionCount(bob, dm.id)).toBe(0);
  });
});
