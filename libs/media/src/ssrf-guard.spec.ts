import type * as http from 'node:http';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ExternalFetchError, isForbiddenAddress, type Resolver, SafeFetcher } from './ssrf-guard';

describe('isForbiddenAddress', () => {
  it.each([
    // IPv4: loopback, private, link-local, CGNAT, unspecified, multicast, reserved, documentation
    '127.0.0.1',
    '127.255.255.254',
    '10.0.0.1',
    '10.255.255.255',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '240.0.0.1',
    '255.255.255.255',
    '192.0.2.10',
    '198.18.0.1',
    // IPv6: loopback, unspecified, link-local, unique local, multicast, documentation, site-local
    '::1',
    '::',
    'fe80::1',
    'fe80::1%eth0',
    'febf:ffff::1',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    '2001:db8::1',
    'fec0::1',
    // IPv4 inside IPv6: mapped (both spellings), compatible, NAT64, 6to4, Teredo
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.1.2.3',
    '::ffff:169.254.169.254',
    '::ffff:a9fe:a9fe',
    '::127.0.0.1',
    '64:ff9b::7f00:1',
    '64:ff9b::a00:1',
    '2002:7f00:1::1',
    '2002:c0a8:101::1',
    '2001:0:4136:e378::1',
    // not an address at all
    'localhost',
    '',
    '1.2.3',
  ])('refuses %s', (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each([
    '93.184.215.14',
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1',
    '172.15.255.255',
    '192.169.0.1',
    '100.128.0.1',
    '2606:4700:4700::1111',
    '2a00:1450:4001:81c::200e',
    '::ffff:8.8.8.8',
    '::ffff:808:808',
    '64:ff9b::808:808',
    '2002:808:808::1',
  ])('allows public %s', (address) => {
    expect(isForbiddenAddress(address)).toBe(false);
  });
});

describe('SafeFetcher refusals (nothing is connected to)', () => {
  const neverCalled = jest.fn() as unknown as typeof http.request;
  const fetcher = (resolve: Resolver) =>
    new SafeFetcher({ maxBytes: 1024, timeoutMs: 5_000, maxRedirects: 2, resolve, request: neverCalled });

  afterEach(() => {
    expect(neverCalled).not.toHaveBeenCalled();
  });

  it.each([
    ['a name that resolves to loopback', [{ address: '127.0.0.1', family: 4 }]],
    ['a name that resolves to a private address', [{ address: '10.1.2.3', family: 4 }]],
    ['a name that resolves to the metadata service', [{ address: '169.254.169.254', family: 4 }]],
    ['a name that resolves to v6 loopback', [{ address: '::1', family: 6 }]],
    ['a name that resolves to a mapped loopback', [{ address: '::ffff:127.0.0.1', family: 6 }]],
    ['a name that resolves to v6 link-local', [{ address: 'fe80::1', family: 6 }]],
    [
      'a name with one public and one private address',
      [
        { address: '93.184.215.14', family: 4 },
        { address: '192.168.0.10', family: 4 },
      ],
    ],
  ])('refuses %s after resolving it', async (_label, addresses) => {
    const resolve = jest.fn<ReturnType<Resolver>, Parameters<Resolver>>().mockResolvedValue(addresses);
    await expect(fetcher(resolve).fetch('http://images.example.test/cat.png')).rejects.toMatchObject({
      reason: 'forbidden_destination',
    });
    expect(resolve).toHaveBeenCalledWith('images.example.test');
  });

  it.each([
    'http://127.0.0.1/x.png',
    'http://[::1]/x.png',
    'http://[::ffff:127.0.0.1]/x.png',
    'http://0x7f.1/x.png', // the URL parser normalises this to 127.0.0.1
    'http://2130706433/x.png',
    'http://169.254.169.254/latest/meta-data/',
    'http://[fe80::1]/x.png',
  ])('refuses the literal address in %s without resolving', async (url) => {
    const resolve = jest.fn<ReturnType<Resolver>, Parameters<Resolver>>();
    await expect(fetcher(resolve).fetch(url)).rejects.toMatchObject({ reason: 'forbidden_destination' });
    expect(resolve).not.toHaveBeenCalled();
  });

  it.each(['file:///etc/passwd', 'ftp://example.test/x', 'not a url', 'http://user:pw@example.test/x'])(
    'refuses %s as a bad URL',
    async (url) => {
      const err = await fetcher(() => Promise.resolve([]))
        .fetch(url)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ExternalFetchError);
      expect(err).toMatchObject({ reason: 'bad_url' });
    },
  );
});

describe('SafeFetcher with an operator allow-list (a real local HTTP server)', () => {
  let server: Server;
  let port = 0;
  const hits: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      if (req.url === '/hop') res.writeHead(302, { location: `http://localhost:${port}/secret` }).end();
      else if (req.url === '/hang')
        res.writeHead(200).write('partial'); // never ends
      else res.writeHead(200, { 'content-type': 'text/html' }).end('<head>'.padEnd(5000, 'x'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const fetcher = (options: Partial<ConstructorParameters<typeof SafeFetcher>[0]> = {}) =>
    new SafeFetcher({
      maxBytes: 1000,
      timeoutMs: 5_000,
      connectTimeoutMs: 2_000,
      maxRedirects: 2,
      allowHost: (host) => host === '127.0.0.1',
      truncate: true,
      ...options,
    });

  it('fetches an allowed private host, cutting the body at maxBytes when told to', async () => {
    const page = await fetcher().fetch(`http://127.0.0.1:${port}/page`);
    expect(page.body.length).toBe(1000);
    expect(page.truncated).toBe(true);
    expect(page.contentType).toBe('text/html');
    await expect(fetcher({ truncate: false }).fetch(`http://127.0.0.1:${port}/page`)).rejects.toMatchObject({
      reason: 'too_large',
    });
  });

  it('refuses a redirect from the allowed host to a private host not on the list, never connecting to it', async () => {
    hits.length = 0;
    await expect(fetcher().fetch(`http://127.0.0.1:${port}/hop`)).rejects.toMatchObject({
      reason: 'forbidden_destination',
    });
    expect(hits).toEqual(['/hop']);
  });

  it('refuses the same host off the list', async () => {
    hits.length = 0;
    await expect(
      fetcher({ allowHost: () => false }).fetch(`http://127.0.0.1:${port}/page`),
    ).rejects.toMatchObject({ reason: 'forbidden_destination' });
    expect(hits).toEqual([]);
  });

  it('gives up on a response that never ends (the total timeout)', async () => {
    await expect(fetcher({ timeoutMs: 300 }).fetch(`http://127.0.0.1:${port}/hang`)).rejects.toMatchObject({
      reason: 'timeout',
    });
  });
});
