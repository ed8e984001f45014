import { SearchService, type SearchInput } from '@parley/chat';
import { type Account, Api, startServer, type TestServer } from '../gateway/harness';

/**
 * Message search over the monolith on a real SQLite file. The permission property: over random roles and
 * channel overwrites (VIEW_CHANNEL and READ_MESSAGE_HISTORY allowed or denied for @everyone, roles and
 * members), a member's search finds exactly the matching messages of the channels whose history that member
 * may read, as the history route itself answers (200 or not), and nothing else; re-checked at once after every
 * random change, so a revoked channel drops out of the very next search.
 */
// Hundreds of REST calls on two shared cores.
jest.setTimeout(120_000);

describe('message search', () => {
  let server: TestServer;
  let api: Api;
  let search: SearchService;
  let owner: Account;
  let members: Account[];
  let guild: { id: string; general: string };
  const VIEW = 1n << 10n;
  const HISTORY = 1n << 16n;

  // mulberry32: a failing case can be replayed from the seed.
  let seed = 1919;
  const random = (): number => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const bits = (): string => {
    let value = 0n;
    if (random() < 0.5) value |= VIEW;
    if (random() < 0.5) value |= HISTORY;
    return value.toString();
  };
  const input = (content: string, extra: Partial<SearchInput> = {}): SearchInput => ({
    content,
    author_id: [],
    channel_id: [],
    mentions: [],
    has: [],
    offset: 0,
    limit: 25,
    ...extra,
  });

  beforeAll(async () => {
    server = await startServer();
    api = new Api(server.url);
    search = server.app.get(SearchService);
    owner = await api.register('srch_owner');
    members = await Promise.all([1, 2, 3, 4, 5].map((n) => api.register(`srch_m${n}`)));
    guild = await api.guild(owner, members);
  });

  afterAll(async () => {
    await server?.close();
  });

  it('a member finds exactly the hits of the channels they may read, over random permissions', async () => {
    const roles: string[] = [];
    for (let r = 0; r < 3; r++) {
      const role = await api.ok<{ id: string }>('POST', `/guilds/${guild.id}/roles`, owner.token, {
        name: `r${r}`,
        permissions: bits(),
      });
      roles.push(role.id);
    }
    const channels: string[] = [guild.general];
    for (let c = 0; c < 5; c++)
      channels.push(
        (await api.ok<{ id: string }>('POST', `/guilds/${guild.id}/channels`, owner.token, { name: `c${c}` }))
          .id,
      );
    const needles = new Map<string, string>(); // message id -> channel id
    for (const channelId of channels) {
      for (let i = 0; i < 3; i++)
        needles.set((await api.send(owner, channelId, `needle ${i} in the hay`)).id, channelId);
      await api.send(owner, channelId, 'only hay here');
    }

    let hidden = 0;
    let shown = 0;
    for (let round = 0; round < 6; round++) {
      // Random change: everyone's base bits, each member's roles, and overwrites on every channel.
      await api.ok('PATCH', `/guilds/${guild.id}/roles/${guild.id}`, owner.token, { permissions: bits() });
      for (const m of members)
        await api.ok('PATCH', `/guilds/${guild.id}/members/${m.user.id}`, owner.token, {
          roles: roles.filter(() => random() < 0.5),
        });
      for (const channelId of channels) {
        const targets: [string, 0 | 1][] = [
          [guild.id, 0],
          ...roles.map((id): [string, 0] => [id, 0]),
          ...members.map((m): [string, 1] => [m.user.id, 1]),
        ];
        for (const [id, type] of targets) {
          if (random() < 0.5)
            await api.call('DELETE', `/channels/${channelId}/permissions/${id}`, owner.token);
          else
            await api.ok('PUT', `/channels/${channelId}/permissions/${id}`, owner.token, {
              type,
              allow: bits(),
              deny: bits(),
            });
        }
      }
      for (const m of members) {
        const readable = new Set<string>();
        for (const channelId of channels) {
          const history = await api.call('GET', `/channels/${channelId}/messages?limit=1`, m.token);
          if (history.status === 200) readable.add(channelId);
        }
        hidden += channels.length - readable.size;
        shown += readable.size;
        const result = await search.searchGuild(guild.id, m.user.id, input('needle'));
        const found = result.messages.map(([hit]) => hit);
        for (const hit of found) expect(readable.has(hit.channel_id)).toBe(true);
        const expected = [...needles].filter(([, channelId]) => readable.has(channelId)).map(([id]) => id);
        expect(result.total_results).toBe(expected.length);
        expect(found.map((hit) => hit.id).sort()).toEqual(expected.sort());
        expect(found.every((hit) => hit.content.startsWith('needle'))).toBe(true);
      }
    }
    // The seed exercises both sides: channels hidden from members and channels shown to them.
    expect(hidden).toBeGreaterThan(0);
    expect(shown).toBeGreaterThan(0);
  });

  it('answers over HTTP in the contract shape, newest first, with filters and paging', async () => {
    const a = await api.send(owner, guild.general, 'zebra crossing at https://example.test/map');
    const b = await api.send(owner, guild.general, 'a zebra, twice: zebra');
    await api.ok('PATCH', `/guilds/${guild.id}/roles/${guild.id}`, owner.token, { permissions: '104324673' });
    await api.call('DELETE', `/channels/${guild.general}/permissions/${guild.id}`, owner.token);
    await api.call('DELETE', `/channels/${guild.general}/permissions/${members[0].user.id}`, owner.token);

    const all = await api.ok<{ total_results: number; messages: { id: string }[][] }>(
      'GET',
      `/guilds/${guild.id}/messages/search?content=zebra`,
      owner.token,
    );
    expect(all.total_results).toBe(2);
    expect(all.messages.map(([m]) => m.id)).toEqual([b.id, a.id]);
    const byAuthor = await api.ok<{ total_results: number; messages: { id: string }[][] }>(
      'GET',
      `/guilds/${guild.id}/messages/search?content=zeb*&author_id=${owner.user.id}&has=link`,
      owner.token,
    );
    expect(byAuthor.messages.map(([m]) => m.id)).toEqual([a.id]);
    const second = await api.ok<{ total_results: number; messages: { id: string }[][] }>(
      'GET',
      `/guilds/${guild.id}/messages/search?content=zebra&offset=1&limit=1`,
      owner.token,
    );
    expect(second).toMatchObject({ total_results: 2 });
    expect(second.messages.map(([m]) => m.id)).toEqual([a.id]);
    const phrase = await api.ok<{ messages: { id: string }[][] }>(
      'GET',
      `/guilds/${guild.id}/messages/search?content=${encodeURIComponent('"zebra crossing"')}`,
      owner.token,
    );
    expect(phrase.messages.map(([m]) => m.id)).toEqual([a.id]);

    // An edit is found by its new text, a delete is gone.
    await api.ok('PATCH', `/channels/${guild.general}/messages/${a.id}`, owner.token, {
      content: 'okapi now',
    });
    await api.ok('DELETE', `/channels/${guild.general}/messages/${b.id}`, owner.token);
    const after = await api.ok<{ total_results: number }>(
      'GET',
      `/guilds/${guild.id}/messages/search?content=zebra`,
      owner.token,
    );
    expect(after.total_results).toBe(0);
    const okapi = await api.ok<{ messages: { id: string }[][] }>(
      'GET',
      `/guilds/${guild.id}/messages/search?content=okapi`,
      owner.token,
    );
    expect(okapi.messages.map(([m]) => m.id)).toEqual([a.id]);
  });

  it('searches a DM for its two recipients only', async () => {
    const dm = await api.ok<{ id: string }>('POST', '/users/@me/channels', owner.token, {
      recipient_id: members[1].user.id,
    });
    const sent = await api.send(owner, dm.id, 'private quokka');
    for (const who of [owner, members[1]]) {
      const found = await api.ok<{ messages: { id: string }[][] }>(
        'GET',
        `/channels/${dm.id}/messages/search?content=quokka`,
        who.token,
      );
      expect(found.messages.map(([m]) => m.id)).toEqual([sent.id]);
    }
    const outsider = await api.call(
      'GET',
      `/channels/${dm.id}/messages/search?content=quokka`,
      members[2].token,
    );
    expect(outsider.status).toBe(404);
    const inGuild = await api.ok<{ total_results: number }>(
      'GET',
      `/guilds/${guild.id}/messages/search?content=quokka`,
      owner.token,
    );
    expect(inGuild.total_results).toBe(0);
  });

  it('refuses oversized queries and bad filters with 400 in the contract shape', async () => {
    const tooMany = Array.from({ length: 11 }, (_, i) => `w${i}`).join(' ');
    for (const query of [
      `content=${encodeURIComponent(tooMany)}`,
      `content=${'x'.repeat(513)}`,
      'content=a*',
      'content=ab*',
      'has=video',
      'author_id=abc',
      'limit=26',
    ]) {
      const res = await api.call<{ code: number; errors: Record<string, unknown> }>(
        'GET',
        `/guilds/${guild.id}/messages/search?${query}`,
        owner.token,
      );
      expect({ query, status: res.status, code: res.body.code }).toEqual({ query, status: 400, code: 50035 });
      expect(Object.keys(res.body.errors).length).toBeGreaterThan(0);
    }
    const stranger = await api.register('srch_stranger');
    expect(
      (await api.call('GET', `/guilds/${guild.id}/messages/search?content=x`, stranger.token)).status,
    ).toBe(404);
  });

  it('is described in the OpenAPI document with its query parameters', async () => {
    const doc = (await (await fetch(`${server.url}/api/docs`)).json()) as {
      paths: Record<string, { get?: { parameters?: { name: string; in: string }[] } }>;
    };
    const guildSearch = doc.paths['/api/v1/guilds/{guild_id}/messages/search']?.get;
    expect(guildSearch?.parameters?.map((p) => p.name)).toEqual(
      expect.arrayContaining([
        'guild_id',
        'content',
        'author_id',
        'channel_id',
        'mentions',
        'has',
        'min_id',
        'max_id',
        'offset',
        'limit',
      ]),
    );
    expect(doc.paths['/api/v1/channels/{channel_id}/messages/search']?.get).toBeDefined();
  });
});
