// The one REST client of the tests and the one set of record fixtures (accounts, guilds, messages) made through
// the public API. bench/ imports this file too, through Node's type stripping (erasable TypeScript only, nothing
// but built-ins), and passes its own keep-alive transport to the fixtures.

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface RequestInit {
  token?: string | null;
  body?: unknown;
  /** A body sent as it is (malformed JSON, say); content-type application/json unless `headers` say otherwise. */
  raw?: string;
  headers?: Record<string, string>;
}

/** One HTTP request; the body parsed as JSON when it is JSON, else the text, null when empty. */
export async function request<T = any>(
  url: string,
  method: string,
  init: RequestInit = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const payload = init.body !== undefined ? JSON.stringify(init.body) : init.raw;
  if (payload !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(url, { method, headers, body: payload });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: the text
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/** A request to `/api/v1<path>` of a server: what the fixtures below need of a transport. */
export type Call = (
  method: string,
  path: string,
  token?: string | null,
  body?: unknown,
) => Promise<{ status: number; body: any }>;

/** Call over fetch against `base`. */
export function restCall(base: string): Call {
  return (method, path, token, body) => request(`${base}/api/v1${path}`, method, { token, body });
}

export interface Account {
  token: string;
  user: { id: string; username: string };
}

export const PASSWORD = 'password123';

async function expectOk<T>(
  call: Call,
  method: string,
  path: string,
  token?: string | null,
  body?: unknown,
): Promise<T> {
  const res = await call(method, path, token, body);
  if (res.status < 200 || res.status >= 300)
    throw new Error(`${method} ${path} -> ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as T;
}

/** Registers `username` (at most 32 characters) with an example.test address; fails on anything but 201. */
export async function registerAccount(call: Call, username: string, password = PASSWORD): Promise<Account> {
  const res = await call('POST', '/auth/register', undefined, {
    username,
    email: `${username}@example.test`,
    password,
  });
  if (res.status !== 201) throw new Error(`register ${username}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as Account;
}

/** A guild owned by `owner` with its first (general) channel; `members` join by one invite. */
export async function createGuild(
  call: Call,
  owner: { token: string },
  members: { token: string }[] = [],
  options: { name?: string; invite?: Record<string, unknown> } = {},
): Promise<{ id: string; general: string; invite: string | null }> {
  const guild = await expectOk<{ id: string; channels: { id: string }[] }>(
    call,
    'POST',
    '/guilds',
    owner.token,
    {
      name: options.name ?? 'test guild',
    },
  );
  const general = guild.channels[0].id;
  let invite: string | null = null;
  if (members.length > 0 || options.invite) {
    invite = (
      await expectOk<{ code: string }>(
        call,
        'POST',
        `/channels/${general}/invites`,
        owner.token,
        options.invite ?? {},
      )
    ).code;
    for (const m of members) await expectOk(call, 'POST', `/invites/${invite}`, m.token);
  }
  return { id: guild.id, general, invite };
}

/** A message from `author` in a channel. */
export function sendMessage(
  call: Call,
  author: { token: string },
  channelId: string,
  content: string,
): Promise<{ id: string; content: string }> {
  return expectOk(call, 'POST', `/channels/${channelId}/messages`, author.token, { content });
}

/** The API of one server for tests that act as several people: each call names its account's token. */
export class Api {
  readonly url: string;
  private counter = 0;

  constructor(url: string) {
    this.url = url;
  }

  /** `/api/v1<path>` with the account's token and a JSON body. */
  call<T = any>(method: string, path: string, token?: string | null, body?: unknown): Promise<Reply<T>> {
    return request<T>(`${this.url}/api/v1${path}`, method, { token, body });
  }

  /** Like call, but fails the test on anything but 2xx. */
  ok<T = any>(method: string, path: string, token?: string, body?: unknown): Promise<T> {
    return expectOk<T>(this.transport, method, path, token, body);
  }

  private readonly transport: Call = (method, path, token, body) => this.call(method, path, token, body);

  /** A fresh account named after `name`, unique to this process. */
  register(name: string): Promise<Account> {
    return registerAccount(
      this.transport,
      `${name}_${process.pid}_${++this.counter}`.toLowerCase().slice(0, 32),
    );
  }

  /** A second token for the same account. */
  async login(account: Account): Promise<string> {
    const res = await this.ok<{ token: string }>('POST', '/auth/login', undefined, {
      login: account.user.username,
      password: PASSWORD,
    });
    return res.token;
  }

  /** A guild owned by `owner` with its general channel; `members` join by invite. */
  async guild(owner: Account, members: Account[] = []): Promise<{ id: string; general: string }> {
    const { id, general } = await createGuild(this.transport, owner, members);
    return { id, general };
  }

  send(account: Account, channelId: string, content: string): Promise<{ id: string; content: string }> {
    return sendMessage(this.transport, account, channelId, content);
  }

  /** Changes the display name: a USER_UPDATE on the user's own scope, used as an ordering sentinel. */
  async touch(account: Account): Promise<string> {
    const name = `n${++this.counter}`;
    await this.ok('PATCH', '/users/@me', account.token, { display_name: name });
    return name;
  }
}

/** One person's session against a server: keeps the token it registered with; paths are under /api/v1. */
export class Client {
  readonly base: string;
  token: string | null = null;

  constructor(base: string) {
    this.base = base;
  }

  request<T = any>(
    method: string,
    path: string,
    body?: unknown,
    init: { raw?: string; headers?: Record<string, string> } = {},
  ): Promise<Reply<T>> {
    return request<T>(`${this.base}/api/v1${path}`, method, { ...init, body, token: this.token });
  }

  get<T = any>(path: string) {
    return this.request<T>('GET', path);
  }
  post<T = any>(path: string, body?: unknown) {
    return this.request<T>('POST', path, body);
  }
  patch<T = any>(path: string, body?: unknown) {
    return this.request<T>('PATCH', path, body);
  }
  put<T = any>(path: string, body?: unknown) {
    return this.request<T>('PUT', path, body);
  }
  delete<T = any>(path: string) {
    return this.request<T>('DELETE', path);
  }

  async register(
    username: string,
    password = 'correct horse battery',
  ): Promise<{ id: string; username: string }> {
    const account = await registerAccount(
      (method, path, _token, body) => this.request(method, path, body),
      username,
      password,
    );
    this.token = account.token;
    return account.user;
  }
}
