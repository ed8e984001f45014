import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SafeFetcher, type SafeFetchOptions } from '@parley/media';
import sharp from 'sharp';

/**
 * The external-image fetcher against real sockets, all on loopback: by default it must refuse every
 * one of these targets; the allowed path is exercised only through the test seam `allowAddress`
 * (and an injected resolver), which production code never sets.
 */
describe('SafeFetcher against loopback servers', () => {
  let server: Server;
  let port: number;
  const seen: IncomingMessage[] = [];
  let png: Buffer;

  beforeAll(async () => {
    png = await sharp({ create: { width: 20, height: 10, channels: 3, background: '#08f' } })
      .png()
      .toBuffer();
    server = createServer((req, res) => {
      seen.push(req);
      switch (req.url) {
        case '/cat.png':
          res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length }).end(png);
          return;
        case '/to-self':
          res.writeHead(302, { location: '/cat.png' }).end();
          return;
        case '/to-other-loopback':
          res.writeHead(302, { location: `http://127.0.0.2:${port}/cat.png` }).end();
          return;
        case '/to-v6-loopback':
          res.writeHead(301, { location: `http://[::1]:${port}/cat.png` }).end();
          return;
        case '/to-metadata':
          res.writeHead(307, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
          return;
        case '/loop':
          res.writeHead(302, { location: '/loop' }).end();
          return;
        case '/big':
          res.writeHead(200, { 'content-type': 'image/png' });
          res.end(Buffer.alloc(2 * 1024 * 1024));
          return;
        case '/big-declared':
          res.writeHead(200, { 'content-type': 'image/png', 'content-length': 50_000_000 });
          res.write(Buffer.alloc(10));
          return;
        case '/slow':
          return; // never answers
        case undefined:
        default:
          res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    seen.length = 0;
  });

  const options: SafeFetchOptions = { maxBytes: 1024 * 1024, timeoutMs: 5_000, maxRedirects: 3 };
  const production = new SafeFetcher(options);
  const onlyThisLoopback = (extra: Partial<SafeFetchOptions> = {}) =>
    new SafeFetcher({ ...options, allowAddress: (address) => address === '127.0.0.1', ...extra });

  it.each([
    () => `http://127.0.0.1:${port}/cat.png`,
    () => `http://localhost:${port}/cat.png`,
    () => `http://[::1]:${port}/cat.png`,
    () => `http://[::ffff:127.0.0.1]:${port}/cat.png`,
    () => `http://127.1:${port}/cat.png`,
  ])('refuses loopback target %#, with no request reaching the server', async (url) => {
    await expect(production.fetch(url())).rejects.toMatchObject({ reason: 'forbidden_destination' });
    expect(seen).toHaveLength(0);
  });

  it('fetches through the test seam, following a same-host redirect', async () => {
    const fetched = await onlyThisLoopback().fetch(`http://127.0.0.1:${port}/to-self`);
    expect(fetched.body.equals(png)).toBe(true);
    expect(fetched.url).toBe(`http://127.0.0.1:${port}/cat.png`);
  });

  it('connects to the address it checked, keeping the name in the Host header', async () => {
    const resolve = jest.fn().mockResolvedValue([{ address: '127.0.0.1', family: 4 }]);
    const fetched = await onlyThisLoopback({ resolve }).fetch(`http://images.example.test:${port}/cat.png`);
    expect(fetched.body.equals(png)).toBe(true);
    expect(seen[0].headers.host).toBe(`images.example.test:${port}`);
  });

  it.each(['/to-other-loopback', '/to-v6-loopback', '/to-metadata'])(
    'checks every redirect hop: %s is refused',
    async (path) => {
      await expect(onlyThisLoopback().fetch(`http://127.0.0.1:${port}${path}`)).rejects.toMatchObject({
        reason: 'forbidden_destination',
      });
      expect(seen.map((r) => r.url)).toEqual([path]);
    },
  );

  it('stops after max_redirects', async () => {
    await expect(onlyThisLoopback().fetch(`http://127.0.0.1:${port}/loop`)).rejects.toMatchObject({
      reason: 'too_many_redirects',
    });
    expect(seen).toHaveLength(4);
  });

  it('cuts off bodies past max_size, declared or not', async () => {
    await expect(onlyThisLoopback().fetch(`http://127.0.0.1:${port}/big`)).rejects.toMatchObject({
      reason: 'too_large',
    });
    await expect(onlyThisLoopback().fetch(`http://127.0.0.1:${port}/big-declared`)).rejects.toMatchObject({
      reason: 'too_large',
    });
  });

  it('gives up on a server that never answers', async () => {
    await expect(
      onlyThisLoopback({ timeoutMs: 300 }).fetch(`http://127.0.0.1:${port}/slow`),
    ).rejects.toMatchObject({ reason: 'timeout' });
  });
});
