import { LocalPushService, PushDevice } from '../support/push-service';
import { startSmtpSink, type SmtpSink } from '../support/smtp';
import { waitFor } from '../support/wait';
import { Client, request, type ServerProcess, startServer, tempDir, useMicroservices } from './harness';

interface Payload {
  channel_id: string;
  guild_id: string | null;
  message_id: string;
  title: string;
  body: string;
}

// api, gateway and queue as separate processes: the api answers the VAPID key the queue signs with (one stored
// pair), the send enqueues on JetStream, the queue role asks Redis who is online, pushes and mails (delayed job).
useMicroservices();

describe('Web Push and email notifications (microservices: jobs on JetStream in the queue role)', () => {
  const dir = tempDir();
  const push = new LocalPushService();
  let smtp: SmtpSink;
  let server: ServerProcess;

  beforeAll(async () => {
    await push.start();
    smtp = await startSmtpSink();
    server = await startServer({
      PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
      PARLEY__RATE_LIMITS__ENABLED: 'false',
      PARLEY__SMTP__HOST: '127.0.0.1',
      PARLEY__SMTP__PORT: String(smtp.port),
      PARLEY__AUTH__PUBLIC_URL: 'https://chat.example.test',
      PARLEY__NOTIFICATIONS__PUSH__ALLOW_PRIVATE_HOSTS: '["127.0.0.1"]',
      PARLEY__NOTIFICATIONS__EMAIL__DELAY: '1500',
    });
  });

  afterAll(async () => {
    await server?.stop();
    await push.stop();
    await smtp?.stop();
    dir.remove();
  });

  it('pushes one encrypted notification per offline mentioned user, removes a 410 device, mails after the delay', async () => {
    const alice = new Client(server.url);
    const bob = new Client(server.url);
    await alice.register('alice');
    const bobId = (await bob.register('bob')).id;
    const guild = await alice.post('/guilds', { name: 'Split roles' });
    const general = guild.body.channels.find((c: { type: number }) => c.type === 0).id as string;
    const code = (await alice.post(`/channels/${general}/invites`, {})).body.code as string;
    expect((await bob.post(`/invites/${code}`)).status).toBe(200);
    const key = await request(`${server.url}/api/v1/notifications/vapid-public-key`, 'GET', {});
    expect(key.status).toBe(200);
    const device = new PushDevice(push.url('/push/bob'));
    expect((await bob.post('/users/@me/push-subscriptions', device.subscription())).status).toBe(204);

    const sent = await alice.post(`/channels/${general}/messages`, { content: `<@${bobId}> split hello` });
    expect(sent.status).toBe(200);
    const received = await waitFor(
      () => push.to('/push/bob')[0],
      'the push reached the push service',
      30_000,
    );
    // Signed with the pair the api announced: one stored key pair across processes.
    expect(String(received.headers.authorization)).toContain(`k=${key.body.public_key}`);
    expect(JSON.parse(device.decrypt(received.body)) as Payload).toEqual({
      channel_id: general,
      guild_id: guild.body.id,
      message_id: sent.body.id,
      title: `alice in #general (Split roles)`,
      body: `<@${bobId}> split hello`,
    });

    const mail = await waitFor(
      () => smtp.mails.find((m) => m.subject?.includes('#general (Split roles)')),
      'the delayed notification mail arrived (a delayed job on JetStream)',
      30_000,
    );
    expect(mail.headerLines.find((h) => h.key === 'list-unsubscribe-post')?.line).toBe(
      'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
    );

    // 410: the queue forgets the device; a DM then reaches no push service.
    push.statusFor.set('/push/bob', 410);
    const dm = (await alice.post('/users/@me/channels', { recipient_id: bobId })).body.id as string;
    await alice.post(`/channels/${dm}/messages`, { content: 'first' });
    await waitFor(() => push.to('/push/bob').length === 2, 'the DM push met the 410', 30_000);
    const other = (await alice.post(`/guilds/${guild.body.id}/channels`, { name: 'other', type: 0 })).body
      .id as string;
    await alice.post(`/channels/${other}/messages`, { content: `<@${bobId}> anyone?` });
    // Nothing to wait for that would show a push that never comes: re-subscribing and pushing again proves the
    // device row was gone (the new push is the third request, not the fourth).
    push.statusFor.delete('/push/bob');
    expect((await bob.post('/users/@me/push-subscriptions', device.subscription())).status).toBe(204);
    const third = (await alice.post(`/guilds/${guild.body.id}/channels`, { name: 'third', type: 0 })).body
      .id as string;
    await alice.post(`/channels/${third}/messages`, { content: `<@${bobId}> last one` });
    const last = await waitFor(
      () =>
        push
          .to('/push/bob')
          .map((p) => JSON.parse(device.decrypt(p.body)) as Payload)
          .find((p) => p.channel_id === third),
      'the push after re-subscribing arrived',
      30_000,
    );
    expect(last.body).toBe(`<@${bobId}> last one`);
  });
});
