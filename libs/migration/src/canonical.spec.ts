import { canonical, Digest, recordKey, rowHash } from './canonical';

describe('digests', () => {
  const hashes = ['a', 'b', 'c'].map((content) => rowHash({ content }));

  it('do not depend on the order rows come in', () => {
    const [x, y] = [new Digest(), new Digest()];
    for (const h of hashes) x.add(h);
    for (const h of [...hashes].reverse()) y.add(h);
    expect(x.equals(y)).toBe(true);
    expect(x.hex).toMatch(/^[0-9a-f]{32}$/);
  });

  it('change with a missing, duplicated or altered row', () => {
    const all = new Digest();
    for (const h of hashes) all.add(h);
    const missing = new Digest();
    for (const h of hashes.slice(1)) missing.add(h);
    const duplicated = new Digest();
    for (const h of [...hashes, hashes[0]]) duplicated.add(h);
    const altered = new Digest();
    for (const h of [rowHash({ content: 'A' }), ...hashes.slice(1)]) altered.add(h);
    for (const other of [missing, duplicated, altered]) expect(all.equals(other)).toBe(false);
  });
});

describe('canonical records', () => {
  it('normalise what a backend does not keep: role order, empty ban reasons, empty read states', () => {
    const member = { guildId: '1', userId: '2', nick: null, roles: ['30', '4'], joinedAt: 0 };
    expect(canonical('members', member)).toEqual(canonical('members', { ...member, roles: ['4', '30'] }));
    const ban = { guildId: '1', userId: '2', reason: '', createdAt: 0 };
    expect(canonical('bans', ban)).toEqual(canonical('bans', { ...ban, reason: null }));
    expect(
      canonical('read_states', { userId: '1', channelId: '2', lastMessageId: null, mentionCount: 0 }),
    ).toBeNull();
    expect(recordKey('reactions', { channelId: '9', messageId: '1', emoji: '👍', userId: '2' })).toBe(
      '1/👍/2',
    );
  });
});
