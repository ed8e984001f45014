import { type AddressInfo, createServer, type Socket, connect } from 'node:net';

/**
 * A loopback TCP proxy whose target is set after it listens (so its port can go into a server's config first)
 * and whose live connections can be cut at once: a real network drop, both sides seeing their socket die.
 */
export class TcpProxy {
  target: { host: string; port: number } | null = null;
  private readonly pairs = new Set<[Socket, Socket]>();
  private readonly server = createServer((client) => {
    const target = this.target;
    if (!target) return void client.destroy();
    const upstream = connect(target.port, target.host);
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  /** Points the proxy at `url`'s host and port. */
  forwardTo(url: string): void {
    const u = new URL(url);
    this.target = { host: u.hostname, port: Number(u.port) };
  }

  get connections(): number {
    return this.pairs.size;
  }

  /**
   * Stops passing on what the clients of the live connections send (it stays unread, and is lost with the
   * connection if that is then cut): what a server that died before reading its socket never saw.
   */
  holdClientData(): void {
    for (const [client, upstream] of this.pairs) client.unpipe(upstream);
  }

  /** Cuts every live connection (no close frame: the peers see a dead socket). */
  dropAll(): void {
    for (const [a, b] of [...this.pairs]) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
