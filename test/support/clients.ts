import { type Socket, io } from 'socket.io-client';
import WebSocket from 'ws';
import { waitFor, withTimeout } from './wait';

// The real socket.io gateway client of the gateway, microservices and regions suites (and a Discord-protocol one);
// with the REST client, the fixtures and the poller they use (each defined once, in rest.ts and wait.ts).
export { type Account, Api } from './rest';
export { waitFor, withTimeout } from './wait';

export interface Received {
  name: string;
  payload: any;
  batched?: boolean;
}

interface Waiter {
  name: string;
  from: number;
  predicate: (payload: any) => boolean;
  resolve: (index: number) => void;
}

export interface ConnectOptions {
  session_id?: string;
  seq?: number;
  batch?: boolean;
  reconnection?: boolean;
  /** HTTP headers of the handshake request (X-Forwarded-For, to connect as another address behind a proxy). */
  headers?: Record<string, string>;
}

/** A real socket.io client that records every event in arrival order and tracks its session and sequence. */
export class GatewayClient {
  readonly events: Received[] = [];
  sessionId: string | null = null;
  lastSeq = 0;
  readonly socket: Socket;
  private waiters: Waiter[] = [];
  private readonly closed: Promise<string>;
  readonly connected: Promise<void>;

  constructor(url: string, token: string, options: ConnectOptions = {}) {
    const auth: Record<string, unknown> = { token };
    if (options.session_id !== undefined) auth.session_id = options.session_id;
    if (options.seq !== undefined) auth.seq = options.seq;
    if (options.batch) auth.batch = true;
    this.socket = io(url, {
      path: '/gateway',
      transports: ['websocket'],
      auth,
      reconnection: options.reconnection ?? false,
      forceNew: true,
      extraHeaders: options.headers,
    });
    this.socket.onAny((name: string, payload: any) => {
      if (name === 'BATCH') {
        for (const item of payload as { t: string; s: number; d: unknown }[])
          this.record({ name: item.t, payload: { s: item.s, d: item.d }, batched: true });
      } else this.record({ name, payload });
    });
    this.closed = new Promise((resolve) => this.socket.once('disconnect', (reason) => resolve(reason)));
    this.connected = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('connect_error', reject);
    });
    this.connected.catch(() => undefined);
  }

  static async ready(url: string, token: string, options: ConnectOptions = {}): Promise<GatewayClient> {
    const client = new GatewayClient(url, token, options);
    await client.next('READY');
    return client;
  }

  private record(event: Received): void {
    this.events.push(event);
    if (event.name === 'READY') this.sessionId = event.payload.d.session_id;
    if (typeof event.payload?.s === 'number') this.lastSeq = event.payload.s;
    const index = this.events.length - 1;
    this.waiters = this.waiters.filter((w) => {
      if (index < w.from || w.name !== event.name || !w.predicate(event.payload)) return true;
      w.resolve(index);
      return false;
    });
  }

  /** Index of the first `name` event at or after `from` that matches, waiting for it if needed. */
  waitIndex(
    name: string,
    predicate: (payload: any) => boolean = () => true,
    from = 0,
    timeoutMs = 10_000,
  ): Promise<number> {
    for (let i = from; i < this.events.length; i++)
      if (this.events[i].name === name && predicate(this.events[i].payload)) return Promise.resolve(i);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out waiting for ${name}; got ${this.events.map((e) => e.name).join(', ')}`));
      }, timeoutMs);
      const waiter: Waiter = {
        name,
        from,
        predicate,
        resolve: (i) => {
          clearTimeout(timer);
          resolve(i);
        },
      };
      this.waiters.push(waiter);
    });
  }

  async next(
    name: string,
    predicate?: (payload: any) => boolean,
    from = 0,
    timeoutMs?: number,
  ): Promise<any> {
    return this.events[await this.waitIndex(name, predicate, from, timeoutMs)].payload;
  }

  named(name: string, from = 0): any[] {
    return this.events
      .slice(from)
      .filter((e) => e.name === name)
      .map((e) => e.payload);
  }

  /** The USER_UPDATE caused by Api.touch: everything routed before it has been routed to this client too. */
  sentinel(displayName: string): Promise<number> {
    return this.waitIndex('USER_UPDATE', (p) => p.d.display_name === displayName);
  }

  disconnected(timeoutMs = 10_000): Promise<string> {
    return withTimeout(this.closed, timeoutMs, 'disconnect');
  }

  async connectError(
    timeoutMs = 10_000,
  ): Promise<Error & { data?: { code: number; message: string; retry_after?: number } }> {
    return withTimeout(
      this.connected.then(
        () => {
          throw new Error('connected, expected connect_error');
        },
        (err: Error) => err,
      ),
      timeoutMs,
      'connect_error',
    );
  }

  /** The client's raw TCP socket (engine.io-client over ws in Node). */
  get tcp(): import('node:net').Socket {
    return (this.socket.io.engine.transport as any).ws._socket;
  }

  close(): void {
    this.socket.disconnect();
  }
}

/** The gateway clients a suite opens: `track` keeps one (and returns it), `closeAll` closes those kept so far. */
export class TrackedClients {
  private readonly open: GatewayClient[] = [];

  readonly track = (client: GatewayClient): GatewayClient => {
    this.open.push(client);
    return client;
  };

  closeAll(): void {
    for (const client of this.open.splice(0)) client.close();
  }
}

/** A Discord payload as the Discord-protocol gateway sends it. */
export interface DiscordPayload {
  op: number;
  t?: string | null;
  s?: number | null;
  d: any;
}

/**
 * A real WebSocket client of the Discord-protocol gateway (`/discord-gateway`, JSON, uncompressed), identified with
 * `intents` and READY: what discord.js does, for checking a dispatch as a Discord client receives it.
 */
export class DiscordGatewayClient {
  readonly received: DiscordPayload[] = [];
  private readonly ws: WebSocket;

  private constructor(url: string) {
    this.ws = new WebSocket(`${url.replace(/^http/, 'ws')}/discord-gateway?v=10&encoding=json`);
    this.ws.on('message', (data: Buffer) =>
      this.received.push(JSON.parse(data.toString()) as DiscordPayload),
    );
  }

  static async ready(url: string, token: string, intents: number): Promise<DiscordGatewayClient> {
    const client = new DiscordGatewayClient(url);
    await waitFor(() => client.received.find((p) => p.op === 10), 'HELLO');
    client.ws.send(
      JSON.stringify({
        op: 2,
        d: { token, intents, properties: { os: 'linux', browser: 'test', device: 'test' } },
      }),
    );
    await client.next('READY');
    return client;
  }

  /** The first `t` dispatch that matches, waiting for it if needed. */
  next(t: string, predicate: (d: any) => boolean = () => true): Promise<DiscordPayload> {
    return waitFor(() => this.dispatches(t).find((p) => predicate(p.d)), t);
  }

  dispatches(t: string): DiscordPayload[] {
    return this.received.filter((p) => p.op === 0 && p.t === t);
  }

  close(): void {
    this.ws.terminate();
  }
}

/** Discord's gateway intents the tests ask for (docs/discord-compatibility.md). */
export const Intents = { GUILDS: 1 << 0, GUILD_MESSAGES: 1 << 9, GUILD_MESSAGE_TYPING: 1 << 11 } as const;

export const VIEW_CHANNEL = String(1 << 10);
