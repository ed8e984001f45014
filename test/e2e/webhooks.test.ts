import { AttachmentBuilder, EmbedBuilder, WebhookClient } from 'discord.js';
import sharp from 'sharp';
import { GatewayClient } from '../support/clients';
import { request } from '../support/rest';
import { Client, type ServerProcess, startServer, tempDir, waitFor } from './harness';

/** Files past this are refused (413); the suite runs with a small limit and quota to reach both. */
const MAX_UPLOAD = 100 * 1024;
const QUOTA = 400 * 1024;

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
    server = await startServer({
      PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
      PARLEY__STORAGE__LOCAL__PATH: `${dir.path}/files`,
      PARLEY__STORAGE__MAX_UPLOAD_SIZE: String(MAX_UPLOAD),
      PARLEY__MEDIA__USER_QUOTA: String(QUOTA),
    });
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

  it('takes multipart with payload_json and no files', async () => {
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
  });

  describe('files', () => {
    const post = (hook: { id: string; token: string }, form: FormData, query = '?wait=true') =>
      fetch(`${server.url}/api/webhooks/${hook.id}/${hook.token}${query}`, { method: 'POST', body: form });
    const png = () =>
      sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 200, g: 10, b: 10 } } })
        .png()
        .toBuffer();
    const latestId = async () =>
      ((await owner.get(`/channels/${channelId}/messages?limit=1`)).body as { id: string }[])[0]?.id;

    it('a Grafana-style multipart post: payload_json with an embed, the image as a "file" part', async () => {
      const hook = await newWebhook('Grafana images');
      const image = await png();
      const form = new FormData();
      form.append(
        'payload_json',
        JSON.stringify({
          username: 'Grafana',
          embeds: [
            { title: '[FIRING:1] HighCPU', image: { url: 'attachment://graph.png' }, color: 14037554 },
          ],
        }),
      );
      form.append('file', new Blob([new Uint8Array(image)], { type: 'image/png' }), 'graph.png');
      const res = await post(hook, form);
      expect(res.status).toBe(200);
      const message = (await res.json()) as Record<string, any>;
      expect(message.attachments).toHaveLength(1);
      expect(message.attachments[0]).toMatchObject({
        filename: 'graph.png',
        size: image.length,
        content_type: 'image/png',
        width: 40,
        height: 30,
      });
      // Served by the media proxy like any upload (a public channel: the plain path).
      // attachment://graph.png in the embed is answered as the file's URL.
      expect(message.embeds[0].image.url).toBe(message.attachments[0].url);
      const served = await fetch(`${server.mediaUrl}${message.attachments[0].url}`);
      expect(served.status).toBe(200);
      expect(Buffer.from(await served.arrayBuffer()).equals(image)).toBe(true);
      const history = (await owner.get(`/channels/${channelId}/messages?limit=1`)).body as Record<
        string,
        any
      >[];
      expect(history[0].attachments[0].id).toBe(message.attachments[0].id);
    });

    it('files[n] with attachments metadata (filename, description), type sniffed from the bytes', async () => {
      const hook = await newWebhook('GitHub files');
      const form = new FormData();
      form.append(
        'payload_json',
        JSON.stringify({
          content: 'build log attached',
          attachments: [
            { id: 0, filename: 'build.log', description: 'The failing build' },
            { id: 1, description: 'Coverage' },
          ],
        }),
      );
      form.append('files[0]', new Blob(['step 1 ok\nstep 2 failed\n']), 'upload.bin');
      // Claims to be a PNG; it is text, and is stored as such.
      form.append('files[1]', new Blob(['coverage: 81%\n'], { type: 'image/png' }), 'coverage.png');
      const res = await post(hook, form);
      expect(res.status).toBe(200);
      const message = (await res.json()) as Record<string, any>;
      expect(message.attachments).toMatchObject([
        {
          filename: 'build.log',
          description: 'The failing build',
          content_type: expect.stringMatching(/^text\/plain/),
        },
        {
          filename: 'coverage.png',
          description: 'Coverage',
          content_type: expect.stringMatching(/^text\/plain/),
        },
      ]);
      expect(message.attachments[1].width).toBeUndefined();
    });

    it("refuses bad input with Discord's errors and keeps nothing", async () => {
      const hook = await newWebhook('Bad senders');
      const before = await latestId();

      const badJson = new FormData();
      badJson.append('payload_json', '{"content": "no closing brace"');
      const bad = await post(hook, badJson);
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { code: number }).code).toBe(50109);

      const many = new FormData();
      many.append('payload_json', JSON.stringify({ content: 'eleven files' }));
      for (let i = 0; i < 11; i++) many.append(`files[${i}]`, new Blob([`file ${i}`]), `f${i}.txt`);
      const tooMany = await post(hook, many);
      expect(tooMany.status).toBe(400);
      const tooManyBody = (await tooMany.json()) as { code: number; errors: Record<string, any> };
      expect(tooManyBody.code).toBe(50035);
      expect(tooManyBody.errors.attachments._errors[0].code).toBe('BASE_TYPE_MAX_LENGTH');

      const big = new FormData();
      big.append('payload_json', JSON.stringify({ content: 'too big' }));
      big.append('files[0]', new Blob([new Uint8Array(MAX_UPLOAD + 1)]), 'big.bin');
      const oversize = await post(hook, big);
      expect(oversize.status).toBe(413);
      expect(((await oversize.json()) as { code: number }).code).toBe(40005);

      // Two files fit the creator's quota, the third does not: the whole message is refused, the first two
      // are deleted (so the room is there again for the next send).
      const chunk = new Uint8Array(MAX_UPLOAD - 1024);
      const overQuota = new FormData();
      overQuota.append('payload_json', JSON.stringify({ content: 'over quota' }));
      for (let i = 0; i < 5; i++) overQuota.append(`files[${i}]`, new Blob([chunk]), `part${i}.bin`);
      const refused = await post(hook, overQuota);
      expect(refused.status).toBe(413);
      const refusedBody = (await refused.json()) as { code: number; errors: Record<string, any> };
      expect(refusedBody.code).toBe(40005);
      expect(refusedBody.errors.files._errors[0].code).toBe('UPLOAD_QUOTA_EXCEEDED');
      expect(await latestId()).toBe(before);

      const fits = new FormData();
      fits.append('payload_json', JSON.stringify({ content: 'fits again' }));
      fits.append('files[0]', new Blob([chunk]), 'fits.bin');
      expect((await post(hook, fits)).status).toBe(200);
    });

    it('discord.js WebhookClient: send with files, fetch, edit (keep, drop, add files) and delete by token', async () => {
      const hook = await newWebhook('Library files');
      const other = await newWebhook('Someone else');
      const webhook = new WebhookClient(
        { id: hook.id, token: hook.token },
        { rest: { api: `${server.url}/api` } },
      );
      const gateway = await GatewayClient.ready(server.gatewayUrl, bob.token ?? '');
      try {
        const sent = await webhook.send({
          content: 'nightly report',
          files: [
            new AttachmentBuilder(Buffer.from('all green\n'), { name: 'report.txt', description: 'Summary' }),
            new AttachmentBuilder(await png(), { name: 'chart.png' }),
          ],
          embeds: [new EmbedBuilder().setTitle('Nightly').setImage('attachment://chart.png')],
        });
        expect(sent.webhook_id).toBe(hook.id);
        expect(sent.attachments).toMatchObject([
          {
            filename: 'report.txt',
            description: 'Summary',
            content_type: expect.stringMatching(/^text\/plain/),
          },
          { filename: 'chart.png', content_type: 'image/png', width: 40, height: 30 },
        ]);
        await gateway.next('MESSAGE_CREATE', (p) => p.d.id === sent.id);

        const fetched = await webhook.fetchMessage(sent.id);
        expect(fetched).toMatchObject({ id: sent.id, content: 'nightly report', webhook_id: hook.id });
        expect(fetched.attachments).toHaveLength(2);

        // Keep the chart, drop the report, add a new file.
        const chart = sent.attachments[1];
        const report = sent.attachments[0];
        const edited = await webhook.editMessage(sent.id, {
          content: 'nightly report (corrected)',
          attachments: [chart],
          files: [new AttachmentBuilder(Buffer.from('fixed\n'), { name: 'fix.txt' })],
        });
        expect(edited.content).toBe('nightly report (corrected)');
        expect(edited.edited_timestamp).not.toBeNull();
        expect(edited.attachments.map((a) => a.filename)).toEqual(['chart.png', 'fix.txt']);
        const update = await gateway.next('MESSAGE_UPDATE', (p) => p.d.id === sent.id);
        expect(update.d.content).toBe('nightly report (corrected)');
        // The dropped file is deleted by the media job.
        await waitFor(
          async () => (await fetch(`${server.mediaUrl}${report.url}`)).status === 404,
          'the dropped attachment to be deleted',
        );
        expect((await fetch(`${server.mediaUrl}${chart.url}`)).status).toBe(200);

        const embedsOnly = await webhook.editMessage(sent.id, {
          embeds: [new EmbedBuilder().setTitle('Nightly, edited')],
        });
        expect(embedsOnly.embeds[0].title).toBe('Nightly, edited');
        expect(embedsOnly.attachments).toHaveLength(2);

        // Another webhook's token does not reach this message.
        const foreign = await request(
          `${server.url}/api/v10/webhooks/${other.id}/${other.token}/messages/${sent.id}`,
          'GET',
        );
        expect(foreign.status).toBe(404);
        expect(foreign.body.code).toBe(10008);
        const wrongToken = await request(
          `${server.url}/api/v10/webhooks/${hook.id}/${'x'.repeat(68)}/messages/${sent.id}`,
          'PATCH',
          { body: { content: 'nope' } },
        );
        expect(wrongToken.status).toBe(401);

        await webhook.deleteMessage(sent.id);
        const deleted = await gateway.next('MESSAGE_DELETE', (p) => p.d.id === sent.id);
        expect(deleted.d).toMatchObject({ id: sent.id, channel_id: channelId, guild_id: guildId });
        expect((await owner.get(`/channels/${channelId}/messages/${sent.id}`)).status).toBe(404);
        await waitFor(
          async () => (await fetch(`${server.mediaUrl}${chart.url}`)).status === 404,
          "the deleted message's files to be deleted",
        );
      } finally {
        gateway.close();
        webhook.destroy();
      }
    });

    it('edits by token with plain JSON under /api/v10 (content, allowed_mentions; attachments: [] drops all)', async () => {
      const hook = await newWebhook('Editor');
      const bobId = (await bob.get('/users/@me')).body.id as string;
      const form = new FormData();
      form.append('payload_json', JSON.stringify({ content: 'v1' }));
      form.append('files[0]', new Blob(['x']), 'x.txt');
      const sent = (await (await post(hook, form)).json()) as { id: string };
      const base = `${server.url}/api/v10/webhooks/${hook.id}/${hook.token}/messages/${sent.id}`;
      const edited = await request(base, 'PATCH', {
        body: { content: `v2 <@${bobId}>`, allowed_mentions: { parse: [] }, attachments: [] },
      });
      expect(edited.status).toBe(200);
      expect(edited.body).toMatchObject({ content: `v2 <@${bobId}>`, mentions: [], attachments: [] });
      const empty = await request(base, 'PATCH', { body: { content: '' } });
      expect(empty.status).toBe(400);
      expect(empty.body.code).toBe(50006);
      expect((await request(base, 'GET')).body.content).toBe(`v2 <@${bobId}>`);
      expect((await request(base, 'DELETE')).status).toBe(204);
      expect((await request(base, 'GET')).body.code).toBe(10008);
    });
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
