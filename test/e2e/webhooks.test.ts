import { GatewayClient } from '../support/clients';
import { request } from '../support/rest';
import { Client, type ServerProcess, startServer, tempDir } from './harness';

/**
 * Incoming webhooks end to end over real HTTP and the gateway (issue 21): management with MANAGE_WEBHOOKS,
 * execute by token (JSON and multipart, `wait`, overrides), the per-webhook rate limit, WEBHOOKS_UPDATE and the
 * audit log, and bodies shaped like the Discord notifiers of Grafana, GitHub workflows and Uptime Kuma.
 */
describe('webhooks (monolith on SQLite)', () => {
  const dir = tempDir();
  let server: ServerProcess;
  let owner: Client;
  let bob: Client;
  let guildId: string;
  let channelId: string;

  const execute = (id: string, token: string, body: unknown, query = '?wait=true', prefix = '/api/v10') =>
    request(`${server.url}${prefix}/webhooks/${id}/${token}${query}`, 'POST', { body });
  const newWebhook = async (name: string) => {
    const res = await owner.post(`/channels/${channelId}/webhooks`, { name });
    expect(res.status).toBe(200);
    return res.body as { id: string; token: string; url: string };
  };

  beforeAll(async () => {
    server = await startServer({ PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db` });
    owner = new Client(server.url);
    bob = new Client(server.url);
    await owner.register('hookowner');
    await bob.register('hookbob');
    const guild = await owner.post('/guilds', { name: 'Hooks' });
    guildId = guild.body.id;
    channelId = guild.body.channels[0].id;
    const code = (await owner.post(`/channels/${channelId}/invites`, {})).body.code as string;
    expect((await bob.post(`/invites/${code}`)).status).toBe(200);
  });

  afterAll(async () => {
    await server?.stop();
    dir.remove();
  });

  it('are managed with MANAGE_WEBHOOKS, announced and audited', async () => {
    expect((await bob.post(`/channels/${channelId}/webhooks`, { name: 'nope' })).status).toBe(403);
    const refused = await request(`${server.url}/api/v10/channels/${channelId}/webhooks`, 'POST', {
      token: owner.token,
      body: { name: 'Discord bot' },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.errors.name._errors[0].message).toMatch(/clyde|discord/);

    const gateway = await GatewayClient.ready(server.gatewayUrl, owner.token ?? '');
    try {
      const created = await owner.post(`/channels/${channelId}/webhooks`, { name: 'Alerts' });
      expect(created.status).toBe(200);
      expect(created.body).toMatchObject({
        type: 1,
        guild_id: guildId,
        channel_id: channelId,
        name: 'Alerts',
        avatar: null,
        application_id: null,
        user: { username: expect.stringContaining('hookowner') },
      });
      const { id, token } = created.body as { id: string; token: string };
      expect(token).toMatch(/^[A-Za-z0-9_-]{68}$/);
      expect(created.body.url).toBe(`${server.url}/api/webhooks/${id}/${token}`);
      const update = await gateway.next('WEBHOOKS_UPDATE');
      expect(update.d).toEqual({ guild_id: guildId, channel_id: channelId });

      expect(
        (await owner.get(`/channels/${channelId}/webhooks`)).body.map((w: { id: string }) => w.id),
      ).toContain(id);
      expect(
        (await owner.get(`/guilds/${guildId}/webhooks`)).body.map((w: { id: string }) => w.id),
      ).toContain(id);
      expect((await bob.get(`/guilds/${guildId}/webhooks`)).status).toBe(403);
      expect((await bob.get(`/webhooks/${id}`)).status).toBe(403);
      const renamed = await owner.patch(`/webhooks/${id}`, { name: 'Alerting' });
      expect(renamed.body.name).toBe('Alerting');
      // The token holder sees the webhook without its creator, and may rename it but not move it.
      const byToken = await request(`${server.url}/api/webhooks/${id}/${token}`, 'GET');
      expect(byToken.status).toBe(200);
      expect(byToken.body).toMatchObject({ id, name: 'Alerting', channel_id: channelId });
      expect(byToken.body.user).toBeUndefined();
      expect(byToken.body.token).toBeUndefined();
      const wrong = await request(`${server.url}/api/webhooks/${id}/${'x'.repeat(68)}`, 'GET');
      expect(wrong.status).toBe(401);
      expect(wrong.body.code).toBe(50027);
      expect((await request(`${server.url}/api/webhooks/1/${token}`, 'GET')).body.code).toBe(10015);

      const deleted = await request(`${server.url}/api/v10/webhooks/${id}/${token}`, 'DELETE');
      expect(deleted.status).toBe(204);
      expect((await execute(id, token, { content: 'gone' })).status).toBe(404);

      const log = (await owner.get(`/guilds/${guildId}/audit-logs`)).body as {
        audit_log_entries: { action_type: number; target_id: string; changes: { key: string }[] }[];
      };
      const mine = log.audit_log_entries.filter((e) => e.target_id === id).map((e) => e.action_type);
      expect(mine.sort()).toEqual([50, 51, 52]);
    } finally {
      gateway.close();
    }
  });

  it('executes as the webhook: wait, overrides, embeds, allowed_mentions, no wait = 204', async () => {
    const hook = await newWebhook('Deploys');
    const gateway = await GatewayClient.ready(server.gatewayUrl, bob.token ?? '');
    try {
      const sent = await execute(hook.id, hook.token, {
        content: `shipped <@${(await bob.get('/users/@me')).body.id}> @everyone`,
        username: 'Deploy bot',
        avatar_url: 'https://example.test/deploy.png',
        allowed_mentions: { parse: ['users'] },
        embeds: [
          { title: 'v1.2.3', color: 0x00ff00, fields: [{ name: 'env', value: 'prod', inline: true }] },
        ],
        tts: false,
        components: [],
      });
      expect(sent.status).toBe(200);
      expect(sent.body).toMatchObject({
        channel_id: channelId,
        guild_id: guildId,
        webhook_id: hook.id,
        author: { id: hook.id, username: 'Deploy bot', avatar: 'https://example.test/deploy.png', bot: true },
        mention_everyone: false,
        embeds: [
          { title: 'v1.2.3', color: 0x00ff00, fields: [{ name: 'env', value: 'prod', inline: true }] },
        ],
      });
      expect(sent.body.mentions).toHaveLength(1);
      const created = await gateway.next('MESSAGE_CREATE', (p) => p.d.id === sent.body.id);
      expect(created.d.webhook_id).toBe(hook.id);

      const quiet = await execute(hook.id, hook.token, { content: 'no wait' }, '');
      expect(quiet.status).toBe(204);
      const history = (await bob.get(`/channels/${channelId}/messages?limit=2`)).body as {
        content: string;
        author: { username: string; bot?: boolean };
        webhook_id?: string;
      }[];
      expect(history[0]).toMatchObject({
        content: 'no wait',
        webhook_id: hook.id,
        author: { username: 'Deploys', bot: true },
      });
      expect(history[1].author.username).toBe('Deploy bot');

      const empty = await execute(hook.id, hook.token, { username: 'x' });
      expect(empty.status).toBe(400);
      expect(empty.body.code).toBe(50006);
    } finally {
      gateway.close();
    }
  });

  it('takes multipart with payload_json, and refuses files it cannot keep', async () => {
    const hook = await newWebhook('Multipart');
    const form = new FormData();
    form.append('payload_json', JSON.stringify({ content: 'from a form', embeds: [{ description: 'd' }] }));
    const res = await fetch(`${server.url}/api/webhooks/${hook.id}/${hook.token}?wait=true`, {
      method: 'POST',
      body: form,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { content: string; embeds: { description: string }[] };
    expect(body.content).toBe('from a form');
    expect(body.embeds[0].description).toBe('d');

    const withFile = new FormData();
    withFile.append('payload_json', JSON.stringify({ content: 'with a file' }));
    withFile.append('files[0]', new Blob(['hello']), 'a.txt');
    const refused = await fetch(`${server.url}/api/webhooks/${hook.id}/${hook.token}`, {
      method: 'POST',
      body: withFile,
    });
    expect(refused.status).toBe(400);
  });

  it('limits executes per webhook, whoever sends them (shared scope)', async () => {
    const hook = await newWebhook('Chatty');
    const statuses: number[] = [];
    let limited: Response | null = null;
    for (let i = 0; i < 6 && limited === null; i++) {
      const res = await fetch(`${server.url}/api/webhooks/${hook.id}/${hook.token}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ content: `n${i}` }),
      });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
      else expect(res.headers.get('x-ratelimit-scope')).toBe('shared');
    }
    expect(statuses.slice(0, 5)).toEqual([204, 204, 204, 204, 204]);
    expect(limited?.headers.get('x-ratelimit-bucket')).toBe('webhooks.execute');
    // Another webhook has a bucket of its own.
    const other = await newWebhook('Quiet');
    expect((await execute(other.id, other.token, { content: 'fine' }, '')).status).toBe(204);
  });

  describe('senders in the wild', () => {
    const latest = async () =>
      ((await owner.get(`/channels/${channelId}/messages?limit=1`)).body as Record<string, any>[])[0];

    it("Grafana's Discord contact point", async () => {
      const hook = await newWebhook('Grafana');
      // The shape Grafana's alerting notifier posts (pkg/services/ngalert/notifier/channels/discord).
      const body = {
        content: '',
        embeds: [
          {
            title: '[FIRING:1]  (HighCPU api-1)',
            url: 'http://grafana.example.test/alerting/list',
            type: 'rich',
            description:
              '**Firing**\n\nValue: B=97.2\nLabels:\n - alertname = HighCPU\n - instance = api-1\n',
            color: 14037554,
            footer: { text: 'Grafana v11.1.0', icon_url: 'https://grafana.com/static/assets/img/fav32.png' },
          },
        ],
        username: 'Grafana',
        avatar_url: 'https://grafana.com/static/assets/img/fav32.png',
      };
      expect((await execute(hook.id, hook.token, body, '', '/api')).status).toBe(204);
      const stored = await latest();
      expect(stored).toMatchObject({ webhook_id: hook.id, author: { username: 'Grafana', bot: true } });
      expect(stored.embeds).toEqual([body.embeds[0]]);
    });

    it('a GitHub workflow notifier (Discord-shaped body)', async () => {
      const hook = await newWebhook('GitHub');
      const body = {
        username: 'GitHub',
        avatar_url: 'https://github.githubassets.com/favicons/favicon.png',
        embeds: [
          {
            author: {
              name: 'octocat',
              url: 'https://github.com/octocat',
              icon_url: 'https://avatars.githubusercontent.com/u/583231',
            },
            title: '[parley:main] 2 new commits',
            url: 'https://github.com/example/parley/compare/abc1234...def5678',
            description:
              '[`abc1234`](https://github.com/example/parley/commit/abc1234) Fix the build - octocat\n' +
              '[`def5678`](https://github.com/example/parley/commit/def5678) Add webhooks - octocat',
            color: 7506394,
            timestamp: '2026-12-06T09:00:00.000Z',
          },
        ],
      };
      expect((await execute(hook.id, hook.token, body)).status).toBe(200);
      const stored = await latest();
      expect(stored.author.username).toBe('GitHub');
      // Discord fills in an embed's type ("rich") when the sender leaves it out; so does Parley.
      expect(stored.embeds).toEqual([{ ...body.embeds[0], type: 'rich' }]);
    });

    it("Uptime Kuma's Discord notification", async () => {
      const hook = await newWebhook('Uptime');
      // The shape of Uptime Kuma's server/notification-providers/discord.js for a monitor going down.
      const body = {
        username: 'Uptime Kuma',
        avatar_url: 'https://github.com/louislam/uptime-kuma/raw/master/public/icon.png',
        embeds: [
          {
            title: '❌ Your service API went down. ❌',
            color: 16711680,
            timestamp: '2026-12-06T09:01:02.000Z',
            fields: [
              { name: 'Service Name', value: 'API' },
              { name: 'Service URL', value: 'https://api.example.test' },
              { name: 'Time (Europe/Berlin)', value: '2026-12-06 10:01:02' },
              { name: 'Error', value: 'timeout of 48000ms exceeded' },
            ],
          },
        ],
      };
      expect((await execute(hook.id, hook.token, body)).status).toBe(200);
      const stored = await latest();
      expect(stored).toMatchObject({ author: { username: 'Uptime Kuma' }, content: '' });
      expect(stored.embeds).toEqual([{ ...body.embeds[0], type: 'rich' }]);
    });
  });
});
