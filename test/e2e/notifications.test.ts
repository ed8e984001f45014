import type { ParsedMail } from 'mailparser';
import { GatewayClient } from '../support/clients';
import { freePort, LocalPushService, PushDevice } from '../support/push-service';
import { startSmtpSink, type SmtpSink } from '../support/smtp';
import { waitFor } from '../support/wait';
import { Client, request, type ServerProcess, startServer, tempDir } from './harness';

/** A counter's value in a Prometheus text exposition (0 when the series does not exist yet). */
async function counter(server: ServerProcess, name: string, labels: Record<string, string>): Promise<number> {
  const text = (await (await fetch(`${server.url}/metrics`)).text()).split('\n');
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.find(
    (l) => l.startsWith(`${name}{`) && wanted.every((w) => l.slice(0, l.indexOf('}')).includes(w)),
  );
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

const nonEmpty = <T>(list: T[]): T[] | null => (list.length > 0 ? list : null);

interface Payload {
  channel_id: string;
  guild_id: string | null;
  message_id: string;
  title: string;
  body: string;
}

/**
 * Web Push and email for users who are away (issue 22), end to end with real protocols: a local HTTP push service
 * receives what Parley sends and the test decrypts it with the subscription's keys (RFC 8291); a real SMTP server
 * receives the mails. The metrics (what the queue did) prove the pushes that must not happen did not.
 */
describe('Web Push and email notifications (monolith on SQLite)', () => {
  const dir = tempDir();
  const push = new LocalPushService();
  let smtp: SmtpSink;
  let server: ServerProcess;
  let alice: Client;
  let bob: Client;
  let bobId: string;
  let aliceId: string;
  let guildId: string;
  let general: string;
  let quiet: string;
  let device: PushDevice;
  const mailsTo = (to: string): ParsedMail[] =>
    smtp.mails.filter((m) => (Array.isArray(m.to) ? m.to[0] : m.to)?.value[0]?.address === to);

  beforeAll(async () => {
    await push.start();
    smtp = await startSmtpSink();
    server = await startServer({
      PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
      PARLEY__RATE_LIMITS__ENABLED: 'false',
      PARLEY__SMTP__HOST: '127.0.0.1',
      PARLEY__SMTP__PORT: String(smtp.port),
      PARLEY__NOTIFICATIONS__PUSH__ALLOW_PRIVATE_HOSTS: '["127.0.0.1"]',
      PARLEY__NOTIFICATIONS__PUSH__COALESCE_WINDOW: '60000',
      PARLEY__NOTIFICATIONS__EMAIL__DELAY: '1500',
      PARLEY__AUTH__PUBLIC_URL: 'https://chat.example.test',
      PARLEY__JOBS__POLL_INTERVAL: '100',
    });
    alice = new Client(server.url);
    bob = new Client(server.url);
    aliceId = (await alice.register('alice')).id;
    bobId = (await bob.register('bob')).id;
    const guild = await alice.post('/guilds', { name: 'Away team' });
    guildId = guild.body.id;
    general = guild.body.channels.find((c: { type: number }) => c.type === 0).id;
    quiet = (await alice.post(`/guilds/${guildId}/channels`, { name: 'quiet', type: 0 })).body.id;
    const code = (await alice.post(`/channels/${general}/invites`, {})).body.code as string;
    expect((await bob.post(`/invites/${code}`)).status).toBe(200);
    device = new PushDevice(push.url('/push/bob-phone'));
  });

  afterAll(async () => {
    await server?.stop();
    await push.stop();
    await smtp?.stop();
    dir.remove();
  });

  it('answers the VAPID public key and takes a subscription, refusing bad ones with Discord-shaped errors', async () => {
    const key = await request(`${server.url}/api/v1/notifications/vapid-public-key`, 'GET', {});
    expect(key.status).toBe(200);
    expect(Buffer.from(key.body.public_key, 'base64url')).toHaveLength(65);
    // The same key every time (stored at first start).
    expect((await bob.get('/notifications/vapid-public-key')).body.public_key).toBe(key.body.public_key);

    const bad = await bob.post('/users/@me/push-subscriptions', {
      endpoint: push.url('/x'),
      keys: { p256dh: 'short', auth: device.subscription().keys.auth },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe(50035);
    expect(bad.body.errors['keys.p256dh']).toBeDefined();
    // A private address nobody admitted is refused at once.
    const privateHost = await bob.post('/users/@me/push-subscriptions', {
      ...device.subscription(),
      endpoint: 'http://10.1.2.3/push',
    });
    expect(privateHost.status).toBe(400);
    expect(privateHost.body.errors.endpoint).toBeDefined();
    expect(
      (await new Client(server.url).post('/users/@me/push-subscriptions', device.subscription())).status,
    ).toBe(401);

    expect((await bob.post('/users/@me/push-subscriptions', device.subscription())).status).toBe(204);
    // Subscribing the same device again is not a second device.
    expect((await bob.post('/users/@me/push-subscriptions', device.subscription())).status).toBe(204);
  });

  it('pushes exactly one encrypted notification to an offline mentioned user, coalescing the channel', async () => {
    const sent = await alice.post(`/channels/${general}/messages`, { content: `hey <@${bobId}> lunch?` });
    expect(sent.status).toBe(200);
    const [received] = await waitFor(
      () => nonEmpty(push.to('/push/bob-phone')),
      'the push reached the push service',
    );
    expect(received.headers['content-encoding']).toBe('aes128gcm');
    expect(received.headers.ttl).toBeDefined();
    expect(received.headers.topic).toBe(general);
    // VAPID (RFC 8292): signed for the push service's origin with the key the clients subscribe with.
    const key = (await bob.get('/notifications/vapid-public-key')).body.public_key as string;
    const auth = String(received.headers.authorization);
    expect(auth).toMatch(/^vapid t=[\w-]+\.[\w-]+\.[\w-]+, k=[\w-]+$/);
    expect(auth.slice(auth.indexOf('k=') + 2)).toBe(key);
    const claims = JSON.parse(Buffer.from(auth.split('t=')[1].split('.')[1], 'base64url').toString());
    expect(claims.aud).toBe(`http://127.0.0.1:${push.port}`);

    const payload = JSON.parse(device.decrypt(received.body)) as Payload;
    expect(payload).toEqual({
      channel_id: general,
      guild_id: guildId,
      message_id: sent.body.id,
      title: 'alice in #general (Away team)',
      body: `hey <@${bobId}> lunch?`,
    });

    // A second mention in the same channel within the window is folded into the first push.
    const before = await counter(server, 'parley_notifications_dropped_total', { reason: 'coalesced' });
    await alice.post(`/channels/${general}/messages`, { content: `<@${bobId}> still there?` });
    await waitFor(
      async () =>
        (await counter(server, 'parley_notifications_dropped_total', { reason: 'coalesced' })) > before,
      'the second mention was coalesced',
    );
    expect(push.to('/push/bob-phone')).toHaveLength(1);
  });

  it('sends nothing while the user is online, nor for a muted channel', async () => {
    const jobsDone = () =>
      counter(server, 'parley_jobs_completed_total', { name: 'notifications.message', outcome: 'ok' });
    const pushes = () => counter(server, 'parley_jobs_enqueued_total', { name: 'notifications.push' });
    const pushesBefore = await pushes();

    // Muted: the settings say no (the quiet channel has no coalescing claim yet).
    const muted = await bob.patch(`/users/@me/guilds/${guildId}/settings`, {
      channel_overrides: [{ channel_id: quiet, muted: true }],
    });
    expect(muted.status).toBe(200);
    let done = await jobsDone();
    await alice.post(`/channels/${quiet}/messages`, { content: `<@${bobId}> psst` });
    await waitFor(async () => (await jobsDone()) > done, 'the muted mention was considered');
    expect(await pushes()).toBe(pushesBefore);
    await bob.patch(`/users/@me/guilds/${guildId}/settings`, {
      channel_overrides: [{ channel_id: quiet, muted: false }],
    });

    // Online: a live gateway session means no push.
    const gateway = new GatewayClient(server.url, bob.token!);
    await gateway.connected;
    await gateway.next('READY');
    done = await jobsDone();
    await alice.post(`/channels/${quiet}/messages`, { content: `<@${bobId}> you there?` });
    await waitFor(async () => (await jobsDone()) > done, 'the online mention was considered');
    expect(await pushes()).toBe(pushesBefore);
    gateway.close();
    await gateway.disconnected();
  });

  it('emails what is still unread after the delay, once, with one-click unsubscribe', async () => {
    // The mentions above are unread: one mail lists them.
    const bobEmail = 'bob@example.test';
    const [mail] = await waitFor(() => nonEmpty(mailsTo(bobEmail)), 'the notification mail arrived');
    // Batched: one mail for every channel with unread mentions (the muted channel's mention still counts).
    expect(mail.subject).toBe('Parley: 2 conversations are waiting for you');
    expect(mail.text).toContain('2 unread mentions in #general (Away team)');
    // (1 or 2: the mention made while bob was online may land before the mail is written.)
    expect(mail.text).toMatch(/[12] unread mentions? in #quiet \(Away team\)/);
    expect(mail.html).toContain(`/channels/${guildId}/${general}`);
    // RFC 8058: the link in List-Unsubscribe, and List-Unsubscribe-Post saying a POST of the form is enough.
    const raw = (name: string) => mail.headerLines.find((h) => h.key === name)?.line ?? '';
    expect(raw('list-unsubscribe-post')).toBe('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
    const listed = /<(https:\/\/chat\.example\.test[^>]+)>/.exec(raw('list-unsubscribe'))?.[1] ?? '';
    expect(mail.text).toContain(listed);
    // The public URL is the site behind its proxy; the test reaches the same route on the server directly.
    const link = listed.replace('https://chat.example.test', server.url);
    expect(link).toContain('/api/v1/notifications/email/unsubscribe?token=');

    // A forged token changes nothing.
    const forged = await fetch(link.replace(/token=[^&]+/, `token=${bobId}.AAAA`), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(forged.status).toBe(400);
    expect((await bob.get('/users/@me/notification-preferences')).body).toEqual({
      email: true,
      available: true,
    });
    // RFC 8058: the mail client POSTs the form to the link.
    const oneClick = await fetch(link, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(oneClick.status).toBe(204);
    expect((await bob.get('/users/@me/notification-preferences')).body).toEqual({
      email: false,
      available: true,
    });

    // Unsubscribed: a later mention is never mailed (the job drops it when it runs).
    const before = await counter(server, 'parley_notifications_dropped_total', {
      channel: 'email',
      reason: 'unsubscribed',
    });
    const pushed = push.to('/push/bob-phone').length;
    await alice.post(`/channels/${quiet}/messages`, { content: `<@${bobId}> one more` });
    await waitFor(
      async () =>
        (await counter(server, 'parley_notifications_dropped_total', {
          channel: 'email',
          reason: 'unsubscribed',
        })) > before,
      'the mail after unsubscribing was dropped',
    );
    // Its push still went (push and email are separate choices).
    await waitFor(() => push.to('/push/bob-phone').length > pushed, 'the push of the later mention arrived');
    expect(mailsTo(bobEmail)).toHaveLength(1);

    // Turned on again from the settings (only a boolean is taken).
    expect((await bob.patch('/users/@me/notification-preferences', { email: 'yes' })).status).toBe(400);
    const on = await bob.patch('/users/@me/notification-preferences', { email: true });
    expect(on.status).toBe(200);
    expect(on.body).toEqual({ email: true, available: true });
    expect((await bob.get('/users/@me/notification-preferences')).body).toEqual({
      email: true,
      available: true,
    });
  });

  it('a DM to an offline user is pushed; a 410 removes the subscription', async () => {
    const dm = await alice.post('/users/@me/channels', { recipient_id: bobId });
    expect(dm.status).toBe(200);
    push.statusFor.set('/push/bob-phone', 410);
    const before = push.to('/push/bob-phone').length;
    await alice.post(`/channels/${dm.body.id}/messages`, { content: 'a private word' });
    const payload = await waitFor(
      () =>
        push
          .to('/push/bob-phone')
          .slice(before)
          .map((p) => JSON.parse(device.decrypt(p.body)) as Payload)
          .find((p) => p.channel_id === dm.body.id),
      'the DM push was attempted',
    );
    expect(payload).toMatchObject({
      channel_id: dm.body.id,
      guild_id: null,
      title: 'alice',
      body: 'a private word',
    });
    // Gone: the next message to bob does not try that device again.
    await waitFor(
      async () => (await counter(server, 'parley_notifications_dropped_total', { reason: 'gone' })) > 0,
      'the 410 was handled',
    );
    // A mention in a channel with no coalescing claim yet: the push job runs and finds no device left.
    const attempts = push.to('/push/bob-phone').length;
    const fresh = (await alice.post(`/guilds/${guildId}/channels`, { name: 'fresh', type: 0 })).body
      .id as string;
    const pushJobs = () =>
      counter(server, 'parley_jobs_completed_total', { name: 'notifications.push', outcome: 'ok' });
    const done = await pushJobs();
    expect(
      (await alice.post(`/channels/${fresh}/messages`, { content: `<@${bobId}> over here` })).status,
    ).toBe(200);
    await waitFor(async () => (await pushJobs()) > done, 'the push job for the fresh channel ran');
    expect(push.to('/push/bob-phone')).toHaveLength(attempts);
    expect(aliceId).not.toBe(bobId);
  });

  it('a push service that is down does not hold sends back and is retried until it answers', async () => {
    const port = await freePort();
    const carol = new Client(server.url);
    const carolId = (await carol.register('carol')).id;
    const code = (await alice.post(`/channels/${general}/invites`, {})).body.code as string;
    await carol.post(`/invites/${code}`);
    const phone = new PushDevice(`http://127.0.0.1:${port}/push/carol`);
    expect((await carol.post('/users/@me/push-subscriptions', phone.subscription())).status).toBe(204);
    const sent = await alice.post(`/channels/${quiet}/messages`, { content: `<@${carolId}> ping` });
    expect(sent.status).toBe(200);
    await waitFor(
      async () => (await counter(server, 'parley_notifications_failed_total', { channel: 'push' })) > 0,
      'the delivery to the dead push service failed',
    );
    const late = new LocalPushService();
    await late.start(port);
    try {
      const [received] = await waitFor(
        () => nonEmpty(late.to('/push/carol')),
        'the retried push arrived',
        30_000,
      );
      expect(JSON.parse(phone.decrypt(received.body))).toMatchObject({ message_id: sent.body.id });
    } finally {
      await late.stop();
    }
  });

  it('drops a push the user has read by the time it can be delivered', async () => {
    // The push service is down at first; the user reads the channel before the retry, which then sends nothing.
    const port = await freePort();
    const dave = new Client(server.url);
    const daveId = (await dave.register('dave')).id;
    const code = (await alice.post(`/channels/${general}/invites`, {})).body.code as string;
    await dave.post(`/invites/${code}`);
    const phone = new PushDevice(`http://127.0.0.1:${port}/push/dave`);
    expect((await dave.post('/users/@me/push-subscriptions', phone.subscription())).status).toBe(204);
    const failed = await counter(server, 'parley_notifications_failed_total', { channel: 'push' });
    const read = await counter(server, 'parley_notifications_dropped_total', {
      channel: 'push',
      reason: 'read',
    });
    const sent = await alice.post(`/channels/${general}/messages`, { content: `<@${daveId}> read me` });
    await waitFor(
      async () => (await counter(server, 'parley_notifications_failed_total', { channel: 'push' })) > failed,
      'the first delivery failed',
    );
    expect((await dave.post(`/channels/${general}/messages/${sent.body.id}/ack`, {})).status).toBe(204);
    const late = new LocalPushService();
    await late.start(port);
    try {
      await waitFor(
        async () =>
          (await counter(server, 'parley_notifications_dropped_total', { channel: 'push', reason: 'read' })) >
          read,
        'the retry found the message read',
        30_000,
      );
      expect(late.received).toHaveLength(0);
    } finally {
      await late.stop();
    }
  });
});
