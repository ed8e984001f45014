import { Client } from '../../support/rest';
import { clusterEnv, clusterScope, requireSharedServices, startRole } from './processes';

jest.setTimeout(120_000);

/**
 * Slowmode (a channel's rate_limit_per_user) holds for a user across api processes: the second api sees the send
 * the first one counted, through the instance's Redis. Uses the machine's shared Redis and NATS.
 */
describe('slowmode across two api processes', () => {
  const { dir, prefix, cleanUp } = clusterScope();
  let one: Client;
  let two: Client;
  let owner: Client;
  let channelId: string;

  beforeAll(async () => {
    await requireSharedServices();
    const env = { ...clusterEnv(prefix, `${dir.path}/parley.db`), PARLEY__RATE_LIMITS__ENABLED: 'false' };
    // The first process applies the migrations; the second starts on the migrated database.
    const api1 = await startRole('api', { ...env, PARLEY__INSTANCE__NODE_ID: '1' });
    const api2 = await startRole('api', { ...env, PARLEY__INSTANCE__NODE_ID: '2' });
    owner = new Client(api1.url);
    one = new Client(api1.url);
    two = new Client(api2.url);
    await owner.register('slow_owner');
    await one.register('slow_member');
    two.token = one.token;
    const guild = await owner.post('/guilds', { name: 'Slow' });
    channelId = guild.body.channels.find((c: { type: number }) => c.type === 0).id;
    const invite = await owner.post(`/channels/${channelId}/invites`, {});
    expect((await two.post(`/invites/${invite.body.code}`)).status).toBe(200);
  });

  afterAll(() => cleanUp());

  it('refuses a second message within the window on the other api with 429, code 20016 and retry_after', async () => {
    const set = await owner.patch(`/channels/${channelId}`, { rate_limit_per_user: 600 });
    expect(set.status).toBe(200);
    expect(set.body.rate_limit_per_user).toBe(600);
    expect((await one.post(`/channels/${channelId}/messages`, { content: 'first' })).status).toBe(200);
    const again = await two.post(`/channels/${channelId}/messages`, { content: 'second' });
    expect(again.status).toBe(429);
    expect(again.body).toMatchObject({ code: 20016, retry_after: expect.any(Number) });
    expect(again.body.retry_after).toBeGreaterThan(0);
    expect(again.body.retry_after).toBeLessThanOrEqual(600);
    expect((await one.post(`/channels/${channelId}/messages`, { content: 'third' })).status).toBe(429);
    // The owner (MANAGE_MESSAGES, MANAGE_CHANNELS) is exempt.
    const ownerOnTwo = new Client(two.base);
    ownerOnTwo.token = owner.token;
    for (const content of ['a', 'b'])
      expect((await ownerOnTwo.post(`/channels/${channelId}/messages`, { content })).status).toBe(200);
  });

  it('refuses values outside 0-21600 and lifts slowmode with 0', async () => {
    for (const bad of [21_601, -1, 1.5, '10'])
      expect((await owner.patch(`/channels/${channelId}`, { rate_limit_per_user: bad })).status).toBe(400);
    expect(
      (await owner.patch(`/channels/${channelId}`, { rate_limit_per_user: 0 })).body.rate_limit_per_user,
    ).toBe(0);
    expect((await two.post(`/channels/${channelId}/messages`, { content: 'free again' })).status).toBe(200);
    expect((await one.post(`/channels/${channelId}/messages`, { content: 'and again' })).status).toBe(200);
  });
});
