import { type Server, Socket, createServer } from 'node:net';
import { Redis } from 'ioredis';
import { type Account, Api } from './clients';
import {
  OwnService,
  type RoleProcess,
  clusterEnv,
  purgePrefix,
  requireSharedServices,
  startRole,
  stopAllRoles,
  tempDir,
  uniquePrefix,
} from './processes';
import { waitFor } from '../../support/wait';

jest.setTimeout(120_000);

/**
 * A TCP relay in front of Redis that can stall: connections stay open but nothing crosses in either direction
 * (a network partition, which a closed socket would not be), until it is resumed.
 */
class StallingRelay {
  private stalled = false;
  private readonly held: (() => void)[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<StallingRelay> {
    let relay: StallingRelay | null = null;
    const server = createServer((client) => {
      const upstream = new Socket().connect(targetPort, '127.0.0.1');
      relay!.link(client, upstream);
      relay!.link(upstream, client);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    relay = new StallingRelay(server, typeof address === 'object' && address ? address.port : 0);
    return relay;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  private link(from: Socket, to: Socket): void {
    this.sockets.add(from);
    from.on('data', (chunk) => {
      if (this.stalled) this.held.push(() => to.write(chunk));
      else to.write(chunk);
    });
    from.on('error', () => to.destroy());
    from.on('close', () => {
      this.sockets.delete(from);
      to.destroy();
    });
  }

  stall(): void {
    this.stalled = true;
  }

  resume(): void {
    this.stalled = false;
    for (const write of this.held.splice(0)) write();
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * The node-id lease (`instance.claim_node_id`): cut off from Redis past the lease, a process must not mint ids
 * (another process may hold its node id by then): requests that create something answer 503, and it recovers
 * once Redis answers again.
 */
describe('microservices: the node-id lease when Redis is unreachable', () => {
  const dir = tempDir();
  const prefix = uniquePrefix();
  let redis: OwnService;
  let relay: StallingRelay;
  let api: RoleProcess;
  let a: Api;
  let owner: Account;
  let guild: { id: string; general: string };
  const leaseKeys = async () => {
    const client = new Redis(redis.url, { lazyConnect: true });
    try {
      await client.connect();
      return await client.keys(`${prefix}:node-id:*`);
    } finally {
      client.disconnect();
    }
  };

  beforeAll(async () => {
    await requireSharedServices();
    redis = await OwnService.start('redis');
    relay = await StallingRelay.start(redis.port);
    const env = {
      ...clusterEnv(prefix, `${dir.path}/parley.db`, { redis: relay.url }),
      PARLEY__RATE_LIMITS__ENABLED: 'false',
      PARLEY__INSTANCE__CLAIM_NODE_ID: 'true',
      PARLEY__INSTANCE__NODE_ID_LEASE: '3000',
      PARLEY__REDIS__COMMAND_TIMEOUT: '300',
    };
    api = await startRole('api', env);
    a = new Api(api.url);
    owner = await a.register('lease_owner');
    guild = await a.guild(owner);
  });

  afterAll(async () => {
    await stopAllRoles();
    await relay?.stop();
    await redis?.remove();
    await purgePrefix(prefix);
    dir.remove();
  });

  it('stops minting ids (503) once the renewal is overdue, and mints again once Redis answers', async () => {
    const [key] = await leaseKeys();
    expect(key).toMatch(new RegExp(`^${prefix}:node-id:0:\\d+$`));
    expect(
      (await a.call('POST', `/channels/${guild.general}/messages`, owner.token, { content: 'before' }))
        .status,
    ).toBe(200);

    relay.stall();
    const refused = await waitFor(async () => {
      const res = await a.call('POST', `/channels/${guild.general}/messages`, owner.token, {
        content: 'cut off',
      });
      return res.status === 503 ? res : undefined;
    }, 'the api refuses to mint ids');
    expect(refused.body).toMatchObject({ code: 50503, message: expect.stringContaining('lease on node id') });
    // Reads mint nothing and go on.
    expect((await a.call('GET', `/channels/${guild.general}/messages`, owner.token)).status).toBe(200);
    // Past the lease the key is gone in Redis: another process could claim the id now.
    await waitFor(async () => (await leaseKeys()).length === 0, 'the lease expires in Redis');
    expect(
      (await a.call('POST', `/channels/${guild.general}/messages`, owner.token, { content: 'still cut off' }))
        .status,
    ).toBe(503);

    relay.resume();
    const sent = await waitFor(async () => {
      const res = await a.call('POST', `/channels/${guild.general}/messages`, owner.token, {
        content: 'back',
      });
      return res.status === 200 ? res : undefined;
    }, 'the api mints ids again');
    expect(sent.body).toMatchObject({ content: 'back' });
    // It took its node id back (nobody had claimed it meanwhile).
    expect(await leaseKeys()).toEqual([key]);
    // Only what was answered 200 was stored: attempts before the renewal was overdue, none after.
    const listed = await a.ok<{ id: string; content: string }[]>(
      'GET',
      `/channels/${guild.general}/messages?limit=100`,
      owner.token,
    );
    const contents = listed.map((m) => m.content);
    expect(contents[0]).toBe('back');
    expect(contents[contents.length - 1]).toBe('before');
    expect(contents).not.toContain('still cut off');
    expect(new Set(contents.slice(1, -1))).toEqual(new Set(contents.length > 2 ? ['cut off'] : []));
    expect(new Set(listed.map((m) => m.id)).size).toBe(listed.length);
  });
});
