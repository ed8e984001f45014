import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, type ServerProcess, startServer, tempDir, waitFor, waitUntilPasses } from './harness';

/** A local page site whose `/held` page never answers (until the site stops): a job fetching it stays busy. */
class HoldingSite {
  readonly hits = new Map<string, number>();
  private readonly held: ServerResponse[] = [];
  private readonly server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    this.hits.set(path, (this.hits.get(path) ?? 0) + 1);
    if (path === '/held') {
      this.held.push(res);
      return;
    }
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end(`<head><meta property="og:title" content="Page ${path.slice(1)}"></head>`);
  });
  port = 0;

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  count(path: string): number {
    return this.hits.get(path) ?? 0;
  }

  async stop(): Promise<void> {
    for (const res of this.held) res.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/**
 * A message's link preview job is stored with the message (in its transaction, on SQLite): a crash right after
 * the 200 loses nothing. With one job slot, taken by a job stuck on a page that never answers, the second
 * message's job is stored but cannot start; the server is then killed (SIGKILL: no shutdown hook runs) and
 * started again on the same database, and the second message is unfurled.
 */
describe('link previews survive a crash after the response (monolith on SQLite)', () => {
  const dir = tempDir();
  const site = new HoldingSite();
  let server: ServerProcess | undefined;
  const env = (): Record<string, string> => ({
    PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
    PARLEY__RATE_LIMITS__ENABLED: 'false',
    PARLEY__UNFURL__ALLOW_PRIVATE_HOSTS: JSON.stringify(['127.0.0.1']),
    PARLEY__JOBS__CONCURRENCY: '1',
  });

  beforeAll(() => site.start());

  afterAll(async () => {
    await server?.stop();
    await site.stop();
    dir.remove();
  });

  it('unfurls, after a kill -9 and a restart, a message whose job had not run', async () => {
    server = await startServer(env());
    const owner = new Client(server.url);
    await owner.register('owner');
    const guild = await owner.post('/guilds', { name: 'Crash' });
    const channelId = guild.body.channels[0].id as string;
    const url = (path: string) => `http://127.0.0.1:${site.port}${path}`;

    // The one job slot is taken: this job waits on a page that never answers.
    const stuck = await owner.post(`/channels/${channelId}/messages`, { content: `see ${url('/held')}` });
    expect(stuck.status).toBe(200);
    await waitFor(() => site.count('/held') === 1, 'the first job fetching the held page', 30_000);

    const sent = await owner.post(`/channels/${channelId}/messages`, {
      content: `see ${url('/after-crash')}`,
    });
    expect(sent.status).toBe(200);
    expect(sent.body.embeds).toEqual([]);
    // Crash right after the response: no shutdown hook, nothing flushed on the way out.
    await server.stop('SIGKILL');
    server = undefined;
    expect(site.count('/after-crash')).toBe(0);

    server = await startServer(env());
    const again = new Client(server.url);
    again.token = owner.token;
    await waitUntilPasses(async () => {
      const message = await again.get(`/channels/${channelId}/messages/${sent.body.id}`);
      expect(message.body.embeds).toMatchObject([{ title: 'Page after-crash', url: url('/after-crash') }]);
    }, 60_000);
    expect(site.count('/after-crash')).toBe(1);
  });
});
