import { guardedPost, PushTargetError } from '@parley/notifications';
import { LocalPushService } from '../../support/push-service';

// The push delivery's SSRF rule against a real HTTP server on loopback: a private destination is refused before
// any connection unless the operator admitted its host (notifications.push.allow_private_hosts).
describe('guardedPost (push deliveries through the SSRF rule)', () => {
  const service = new LocalPushService();
  const options = { headers: { ttl: '60' }, body: Buffer.from('x'), timeoutMs: 5000 };

  beforeAll(() => service.start());
  afterAll(() => service.stop());

  it('refuses loopback, by address or by a name that resolves there, without connecting', async () => {
    for (const url of [service.url('/a'), `http://localhost:${service.port}/a`]) {
      const refused = await guardedPost(url, { ...options, allowPrivateHosts: [] }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(PushTargetError);
      expect((refused as PushTargetError).kind).toBe('forbidden');
    }
    expect(service.received).toHaveLength(0);
  });

  it('refuses what is not an http(s) URL or carries credentials', async () => {
    for (const url of ['file:///etc/passwd', 'not a url', `http://user:pw@127.0.0.1:${service.port}/a`]) {
      const refused = await guardedPost(url, { ...options, allowPrivateHosts: ['127.0.0.1'] }).catch(
        (e: unknown) => e,
      );
      expect((refused as PushTargetError).kind).toBe('forbidden');
    }
    expect(service.received).toHaveLength(0);
  });

  it('posts to an admitted private host and answers its status', async () => {
    expect(await guardedPost(service.url('/ok'), { ...options, allowPrivateHosts: ['127.0.0.1'] })).toBe(201);
    service.statusFor.set('/gone', 410);
    expect(await guardedPost(service.url('/gone'), { ...options, allowPrivateHosts: ['127.0.0.1'] })).toBe(
      410,
    );
    expect(service.received.map((r) => [r.path, r.headers.ttl, r.body.toString()])).toEqual([
      ['/ok', '60', 'x'],
      ['/gone', '60', 'x'],
    ]);
  });

  it('reports an unreachable push service as a network failure (retried by the job)', async () => {
    const down = new LocalPushService();
    await down.start();
    const url = down.url('/a');
    await down.stop();
    const failed = await guardedPost(url, { ...options, allowPrivateHosts: ['127.0.0.1'] }).catch(
      (e: unknown) => e,
    );
    expect((failed as PushTargetError).kind).toBe('network');
  });
});
