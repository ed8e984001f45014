import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { GatewayClient } from '../support/clients';
import { Client, type ServerProcess, request, startServer, tempDir } from './harness';

/** A local site: serves OpenGraph pages and an image, and counts every request per path. */
class Site {
  readonly hits = new Map<string, number>();
  private server: Server = createServer();
  private image: Buffer = Buffer.alloc(0);
  port = 0;
  /** Where `/redirect` sends a client. */
  redirect = '';

  async start(): Promise<void> {
    this.image = await sharp({ create: { width: 4, height: 3, channels: 3, background: '#ff0000' } })
      .png()
      .toBuffer();
    this.server.on('request', (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      this.hits.set(path, (this.hits.get(path) ?? 0) + 1);
      if (path === '/redirect') {
        res.writeHead(302, { location: this.redirect }).end();
        return;
      }
      if (path === '/video') {
        // No OpenGraph title: the page's oEmbed answer fills it in.
        res
          .writeHead(200, { 'content-type': 'text/html' })
          .end('<head><link rel="alternate" type="application/json+oembed" href="/oembed.json?u=1"></head>');
        return;
      }
      if (path === '/oembed.json') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            type: 'video',
            version: '1.0',
            title: 'A clip',
            author_name: 'Clipmaker',
            provider_name: 'LocalTube',
            thumbnail_url: '/cover.png',
            thumbnail_width: 4,
            thumbnail_height: 3,
          }),
        );
        return;
      }
      if (path === '/cover.png') {
        res.writeHead(200, { 'content-type': 'image/png' }).end(this.image);
        return;
      }
      const name = path.slice(1);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><html><head>
        <title>ignored</title>
        <meta property="og:type" content="article">
        <meta property="og:title" content="Page ${name} &amp; <friends>">
        <meta property="og:description" content="All about ${name}">
        <meta property="og:site_name" content="Local Wiki">
        <meta property="og:image" content="/cover.png">
        </head><body><script>alert(1)</script></body></html>`);
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  count(path: string): number {
    return this.hits.get(path) ?? 0;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/**
 * Link previews end to end (issue 18): a message's links are unfurled by the queue role's job from a local site
 * serving OpenGraph tags (allowed by `unfurl.allow_private_hosts`), delivered as a partial MESSAGE_UPDATE, cached
 * per URL, never fetched for a private host off the list, and suppressible.
 */
describe('link previews (monolith on SQLite)', () => {
  const dir = tempDir();
  const site = new Site();
  /** Private like the site, but not on the allow-list: must never be fetched. */
  const hidden = new Site();
  let server: ServerProcess;
  let owner: Client;
  let bob: Client;
  let channelId: string;
  let gateway: GatewayClient;
  const url = (path: string) => `http://127.0.0.1:${site.port}${path}`;
  const send = (client: Client, body: Record<string, unknown>) =>
    client.post(`/channels/${channelId}/messages`, body);
  const updateOf = (id: string, from = 0) =>
    gateway.next('MESSAGE_UPDATE', (p) => p.d.id === id && Array.isArray(p.d.embeds), from);

  beforeAll(async () => {
    await Promise.all([site.start(), hidden.start()]);
    server = await startServer({
      PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
      PARLEY__RATE_LIMITS__ENABLED: 'false',
      PARLEY__UNFURL__ALLOW_PRIVATE_HOSTS: JSON.stringify(['127.0.0.1']),
    });
    owner = new Client(server.url);
    bob = new Client(server.url);
    await owner.register('owner');
    await bob.register('bob');
    const guild = await owner.post('/guilds', { name: 'Previews' });
    channelId = guild.body.channels[0].id;
    const code = (await owner.post(`/channels/${channelId}/invites`, {})).body.code as string;
    expect((await bob.post(`/invites/${code}`)).status).toBe(200);
    gateway = await GatewayClient.ready(server.gatewayUrl, bob.token ?? '');
  });

  afterAll(async () => {
    gateway?.close();
    await server?.stop();
    await Promise.all([site.stop(), hidden.stop()]);
    dir.remove();
  });

  it('unfurls a link into an article embed delivered as MESSAGE_UPDATE; a private host off the list is never fetched', async () => {
    const secret = `http://localhost:${hidden.port}/secret`;
    // The allowed site redirects to the other private host: that hop is refused too.
    site.redirect = `http://localhost:${hidden.port}/via-redirect`;
    const sent = await send(owner, { content: `look ${secret} ${url('/redirect')} and ${url('/alpha')} !` });
    expect(sent.status).toBe(200);
    expect(sent.body.embeds).toEqual([]); // nothing fetched on the request path
    const update = await updateOf(sent.body.id);
    expect(Object.keys(update.d).sort()).toEqual(['channel_id', 'embeds', 'guild_id', 'id']);
    expect(update.d.embeds).toEqual([
      {
        type: 'article',
        url: url('/alpha'),
        title: 'Page alpha & <friends>',
        description: 'All about alpha',
        provider: { name: 'Local Wiki' },
        thumbnail: {
          url: url('/cover.png'),
          proxy_url: expect.stringMatching(/^\/media\/external\/[\w-]+\?hm=[0-9a-f]{64}$/),
        },
      },
    ]);
    // The job handled both links before it dispatched: the one on the other private host was refused unfetched.
    expect(hidden.hits.size).toBe(0);
    expect(site.count('/redirect')).toBe(1);
    expect(site.count('/alpha')).toBe(1);
    // Stored: history shows it.
    const fetched = await bob.get(`/channels/${channelId}/messages/${sent.body.id}`);
    expect(fetched.body.embeds).toEqual(update.d.embeds);
    // The monolith serves the media proxy too: the thumbnail comes through it (the allowed host is fetched).
    if (server.url === server.gatewayUrl) {
      const image = await request(`${server.url}${update.d.embeds[0].thumbnail.proxy_url}`, 'GET');
      expect(image.status).toBe(200);
      expect(image.headers.get('content-type')).toBe('image/png');
      expect(site.count('/cover.png')).toBe(1);
    }
  });

  it('reuses the cached preview for the same URL: no second fetch', async () => {
    const sent = await send(bob, { content: `again ${url('/alpha')}` });
    const update = await updateOf(sent.body.id);
    expect(update.d.embeds).toMatchObject([{ type: 'article', title: 'Page alpha & <friends>' }]);
    expect(site.count('/alpha')).toBe(1);
  });

  it("fills a page's gaps from its oEmbed endpoint (a video embed)", async () => {
    const sent = await send(bob, { content: url('/video') });
    const update = await updateOf(sent.body.id);
    expect(update.d.embeds).toEqual([
      {
        type: 'video',
        url: url('/video'),
        title: 'A clip',
        author: { name: 'Clipmaker' },
        provider: { name: 'LocalTube' },
        thumbnail: {
          url: url('/cover.png'),
          proxy_url: expect.stringMatching(/^\/media\/external\//),
          width: 4,
          height: 3,
        },
      },
    ]);
    expect(site.count('/oembed.json')).toBe(1);
  });

  it('skips <links>, links in code and messages sent with SUPPRESS_EMBEDS', async () => {
    const quiet = await send(owner, { content: `<${url('/angle')}> \`${url('/code')}\`` });
    const suppressed = await send(owner, { content: url('/flagged'), flags: 4 });
    expect(suppressed.body.flags).toBe(4);
    // A later message's preview arrives after the job queue took everything before it.
    const later = await send(owner, { content: url('/later') });
    await updateOf(later.body.id);
    expect(site.count('/angle') + site.count('/code') + site.count('/flagged')).toBe(0);
    for (const id of [quiet.body.id, suppressed.body.id])
      expect((await owner.get(`/channels/${channelId}/messages/${id}`)).body.embeds).toEqual([]);
  });

  it('suppressing removes the previews: the author or MANAGE_MESSAGES, nobody else', async () => {
    const sent = await send(bob, { content: url('/beta') });
    await updateOf(sent.body.id);
    const mark = gateway.named('MESSAGE_UPDATE').length;
    const ownerMessage = await send(owner, { content: 'no links here' });
    const refused = await bob.patch(`/channels/${channelId}/messages/${ownerMessage.body.id}`, { flags: 4 });
    expect(refused.status).toBe(403);
    const byMod = await owner.patch(`/channels/${channelId}/messages/${sent.body.id}`, { flags: 4 });
    expect(byMod.status).toBe(200);
    expect(byMod.body).toMatchObject({ flags: 4, embeds: [] });
    const event = await gateway.next('MESSAGE_UPDATE', (p) => p.d.id === sent.body.id && p.d.flags === 4);
    expect(event.d.embeds).toEqual([]);
    expect(gateway.named('MESSAGE_UPDATE').length).toBeGreaterThan(mark);
    // Allowed again by the author: unfurled anew (from the cache).
    const index = gateway.named('MESSAGE_UPDATE').length;
    const back = await bob.patch(`/channels/${channelId}/messages/${sent.body.id}`, { flags: 0 });
    expect(back.status).toBe(200);
    const again = await gateway.next(
      'MESSAGE_UPDATE',
      (p) => p.d.id === sent.body.id && p.d.flags === undefined && p.d.embeds?.length === 1,
      index,
    );
    expect(again.d.embeds[0].title).toBe('Page beta & <friends>');
    expect(site.count('/beta')).toBe(1);
  });
});
