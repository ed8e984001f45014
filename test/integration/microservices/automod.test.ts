import { GatewayClient } from '../../support/clients';
import { Client } from '../../support/rest';
import { waitUntilPasses } from '../../support/wait';
import { clusterEnv, clusterScope, requireSharedServices, startRole } from './processes';

jest.setTimeout(120_000);

/**
 * AutoMod rules are compiled in memory by every api process; a rule created or deleted through one api process
 * is enforced by another once the change crosses NATS (AUTO_MODERATION_RULES_CHANGED on the invalidation
 * stream), and the gateway role delivers the rule events to MANAGE_GUILD holders only. Uses the machine's shared
 * Redis and NATS.
 */
describe('AutoMod across two api processes and a gateway', () => {
  const { dir, prefix, cleanUp } = clusterScope();
  let owner: Client;
  let memberOnOne: Client;
  let memberOnTwo: Client;
  let gatewayUrl: string;
  let guildId: string;
  let channelId: string;

  beforeAll(async () => {
    await requireSharedServices();
    const env = { ...clusterEnv(prefix, `${dir.path}/parley.db`), PARLEY__RATE_LIMITS__ENABLED: 'false' };
    const api1 = await startRole('api', { ...env, PARLEY__INSTANCE__NODE_ID: '1' });
    const [api2, gateway] = await Promise.all([
      startRole('api', { ...env, PARLEY__INSTANCE__NODE_ID: '2' }),
      startRole('gateway', { ...env, PARLEY__INSTANCE__NODE_ID: '3' }),
    ]);
    gatewayUrl = gateway.url;
    owner = new Client(api1.url);
    memberOnOne = new Client(api1.url);
    memberOnTwo = new Client(api2.url);
    await owner.register('am_ms_owner');
    await memberOnOne.register('am_ms_member');
    memberOnTwo.token = memberOnOne.token;
    const guild = await owner.post('/guilds', { name: 'Guarded cluster' });
    guildId = guild.body.id;
    channelId = guild.body.channels.find((c: { type: number }) => c.type === 0).id;
    const invite = await owner.post(`/channels/${channelId}/invites`, {});
    expect((await memberOnTwo.post(`/invites/${invite.body.code}`)).status).toBe(200);
  });

  afterAll(() => cleanUp());

  it('a rule made on one api process blocks on the other, and stops blocking once deleted there', async () => {
    // The second api process compiles the guild's (empty) rule set on this send and keeps it.
    expect(
      (await memberOnTwo.post(`/channels/${channelId}/messages`, { content: 'contraband' })).status,
    ).toBe(200);
    const ownerGateway = await GatewayClient.ready(gatewayUrl, owner.token!);
    const memberGateway = await GatewayClient.ready(gatewayUrl, memberOnOne.token!);
    try {
      const rule = await owner.post(`/guilds/${guildId}/auto-moderation/rules`, {
        name: 'contraband',
        event_type: 1,
        trigger_type: 1,
        trigger_metadata: { keyword_filter: ['contraband'] },
        actions: [{ type: 1 }],
        enabled: true,
      });
      expect(rule.status).toBe(200);
      const created = await ownerGateway.next('AUTO_MODERATION_RULE_CREATE');
      expect(created.d).toMatchObject({ id: rule.body.id, guild_id: guildId, name: 'contraband' });
      // Each try that is still let through is a plain message: the rule's change has not arrived yet.
      await waitUntilPasses(async () => {
        const res = await memberOnTwo.post(`/channels/${channelId}/messages`, { content: 'contraband' });
        expect(res.status).toBe(400);
        expect(res.body.code).toBe(200000);
      });
      expect(
        (await memberOnOne.post(`/channels/${channelId}/messages`, { content: 'contraband' })).status,
      ).toBe(400);

      const ownerOnTwo = new Client(memberOnTwo.base);
      ownerOnTwo.token = owner.token;
      expect(
        (await ownerOnTwo.delete(`/guilds/${guildId}/auto-moderation/rules/${rule.body.id}`)).status,
      ).toBe(204);
      await ownerGateway.next('AUTO_MODERATION_RULE_DELETE');
      await waitUntilPasses(async () => {
        const res = await memberOnOne.post(`/channels/${channelId}/messages`, {
          content: 'contraband again',
        });
        expect(res.status).toBe(200);
      });
      // The rule's events went to the owner (MANAGE_GUILD) only.
      const marker = await memberOnOne.post(`/channels/${channelId}/messages`, { content: 'marker' });
      await memberGateway.next('MESSAGE_CREATE', (p) => p.d.id === marker.body.id);
      expect(memberGateway.named('AUTO_MODERATION_RULE_CREATE')).toEqual([]);
      expect(memberGateway.named('AUTO_MODERATION_RULES_CHANGED')).toEqual([]);
    } finally {
      ownerGateway.close();
      memberGateway.close();
    }
  });
});
