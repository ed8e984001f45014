import { Api, GatewayClient } from '../integration/microservices/clients';
import {
  type RoleProcess,
  clusterEnv,
  clusterScope,
  requireSharedServices,
  startRole,
} from '../integration/microservices/processes';

jest.setTimeout(180_000);

/**
 * Disabling an account in microservices mode, with real processes: one api and two gateway nodes over the
 * machine's NATS and Redis. The user has sessions on both gateways (two devices); an instance admin disables
 * the account on the api, and every one of those sessions closes, on each node, announced over the bus.
 */
describe('instance admin (microservices): a disabled user is disconnected from every gateway node', () => {
  const { dir, prefix, track, cleanUp } = clusterScope();
  let api: RoleProcess;
  let gateways: RoleProcess[];
  let a: Api;

  beforeAll(async () => {
    await requireSharedServices();
    const env = { ...clusterEnv(prefix, `${dir.path}/parley.db`), PARLEY__RATE_LIMITS__ENABLED: 'false' };
    api = await startRole('api', { ...env, PARLEY__INSTANCE__NODE_ID: '1' });
    gateways = await Promise.all([
      startRole('gateway', { ...env, PARLEY__INSTANCE__NODE_ID: '2' }),
      startRole('gateway', { ...env, PARLEY__INSTANCE__NODE_ID: '3' }),
    ]);
    a = new Api(api.url);
  });

  afterAll(() => cleanUp());

  it('closes the sessions on both gateways; the tokens stop working; enabling lets the user back in', async () => {
    // The first account of the new instance administers it.
    const admin = await a.register('ms_admin');
    const user = await a.register('ms_target');
    const second = await a.login(user);
    const sessions = [
      track(await GatewayClient.ready(gateways[0].url, user.token)),
      track(await GatewayClient.ready(gateways[1].url, second)),
      track(await GatewayClient.ready(gateways[1].url, user.token)),
    ];
    const bystander = track(await GatewayClient.ready(gateways[0].url, admin.token));

    const res = await a.call('PATCH', `/admin/users/${user.user.id}`, admin.token, { disabled: true });
    expect(res.status).toBe(200);
    const reasons = await Promise.all(sessions.map((s) => s.disconnected()));
    expect(reasons).toEqual(sessions.map(() => expect.any(String)));
    expect((await a.call('GET', '/users/@me', user.token)).status).toBe(401);
    expect((await a.call('GET', '/users/@me', second)).status).toBe(401);
    const refused = await a.call('POST', '/auth/login', null, {
      login: user.user.username,
      password: 'password123',
    });
    expect(refused.body).toMatchObject({ errors: { login: [{ code: 'ACCOUNT_DISABLED' }] } });
    // The admin's own session is untouched.
    expect(bystander.named('READY')).toHaveLength(1);
    expect((await a.call('GET', '/users/@me', admin.token)).status).toBe(200);

    expect(
      (await a.call('PATCH', `/admin/users/${user.user.id}`, admin.token, { disabled: false })).status,
    ).toBe(200);
    const token = await a.login(user);
    track(await GatewayClient.ready(gateways[0].url, token));
  });
});
