import { Permission } from '@parley/common';
import { type DomainServices, startDomainServices } from '../../support/domain-services';

/**
 * Mentions at the message service on a real SQLite file: who a message mentions, and for whom a mention counts
 * (only for someone who may see the channel, never for the author, once per message).
 */
describe('mention rules (services on SQLite)', () => {
  let s: DomainServices;
  let owner: string;
  let alice: string;
  let bob: string;
  let stranger: string;
  let guildId: string;
  let general: string;

  const tag = (...ids: string[]) => ids.map((id) => `<@${id}>`).join(' ');
  const mentionCount = async (userId: string, channelId: string): Promise<number> =>
    (await s.messages.readStates(userId)).find((r) => r.channel_id === channelId)?.mention_count ?? 0;
  const counts = (channelId: string, ...users: string[]) =>
    Promise.all(users.map((u) => mentionCount(u, channelId)));

  beforeAll(async () => {
    s = await startDomainServices();
    [owner, alice, bob, stranger] = await Promise.all(
      ['men_owner', 'men_alice', 'men_bob', 'men_stranger'].map(async (n) => (await s.register(n)).id),
    );
    const guild = await s.guilds.create(owner, 'Mentions');
    guildId = guild.id;
    general = guild.channels[0].id;
    const invite = await s.invites.create(general, owner, { max_age: 0, max_uses: 0 });
    await s.invites.accept(invite.code, alice);
    await s.invites.accept(invite.code, bob);
    s.settle();
  });

  afterAll(async () => {
    await s?.close();
  });

  it('a message mentions each known user it tags once, in either tag form; unknown ids are dropped', async () => {
    const unknownId = '123456789012345678';
    const message = await s.messages.create(general, owner, {
      content: `${tag(alice)} <@!${bob}> again ${tag(alice)} ${tag(unknownId)} <@notanid>`,
    });
    expect(message.mentions.map((u) => u.id).sort()).toEqual([alice, bob].sort());
    expect(await counts(general, alice, bob)).toEqual([1, 1]);
  });

  it('counts only for members who may see the channel, never for the author', async () => {
    const before = await counts(general, owner, alice, bob, stranger);
    // The stranger is a real user but no member: named in the message, counted for nobody.
    const message = await s.messages.create(general, alice, {
      content: `${tag(alice, bob, stranger, owner)}`,
    });
    expect(message.mentions.map((u) => u.id).sort()).toEqual([alice, bob, stranger, owner].sort());
    const after = await counts(general, owner, alice, bob, stranger);
    expect(after).toEqual([before[0] + 1, before[1], before[2] + 1, 0]);
  });

  it('follows the channel overwrites: hidden from someone, a mention does not count for them', async () => {
    const secret = await s.channels.create(guildId, owner, {
      name: 'secret',
      permission_overwrites: [
        { id: guildId, type: 0, deny: Permission.VIEW_CHANNEL.toString() },
        { id: alice, type: 1, allow: Permission.VIEW_CHANNEL.toString() },
      ],
    });
    s.settle();
    await s.messages.create(secret.id, owner, { content: `psst ${tag(alice, bob)}` });
    expect(await counts(secret.id, alice, bob)).toEqual([1, 0]);

    // A role that opens the channel, given to bob: his next mention counts.
    const insiders = await s.roles.create(guildId, owner, { name: 'insiders', permissions: '0' });
    s.settle();
    await s.channels.putOverwrite(secret.id, owner, insiders.id, {
      type: 0,
      allow: Permission.VIEW_CHANNEL.toString(),
    });
    await s.members.update(guildId, owner, bob, { roles: [insiders.id] });
    s.settle();
    await s.messages.create(secret.id, owner, { content: `again ${tag(alice, bob)}` });
    expect(await counts(secret.id, alice, bob)).toEqual([2, 1]);

    // His own overwrite denying the channel beats the role's allow.
    await s.channels.putOverwrite(secret.id, owner, bob, {
      type: 1,
      deny: Permission.VIEW_CHANNEL.toString(),
    });
    s.settle();
    await s.messages.create(secret.id, owner, { content: `once more ${tag(bob)}` });
    expect(await counts(secret.id, alice, bob)).toEqual([2, 1]);
  });

  it('in a DM, counts only for the recipient', async () => {
    const dm = await s.channels.openDm(owner, alice);
    await s.messages.create(dm.id, owner, { content: `dm ${tag(alice, bob, owner)}` });
    expect(await counts(dm.id, owner, alice, bob)).toEqual([0, 1, 0]);
  });

  it('@everyone is a mention of everyone only from someone with MENTION_EVERYONE', async () => {
    const plain = await s.messages.create(general, alice, { content: 'hello @everyone' });
    expect(plain.mention_everyone).toBe(false);
    const fromOwner = await s.messages.create(general, owner, { content: 'hello @here' });
    expect(fromOwner.mention_everyone).toBe(true);
  });

  it('an edit that adds a mention does not count it again; reading the channel clears the count', async () => {
    const before = await mentionCount(bob, general);
    const message = await s.messages.create(general, owner, { content: 'no one yet' });
    const edited = await s.messages.edit(general, owner, message.id, { content: `now ${tag(bob)}` });
    expect(edited.mentions.map((u) => u.id)).toEqual([bob]);
    expect(await mentionCount(bob, general)).toBe(before);
    const latest = await s.messages.create(general, owner, { content: `and ${tag(bob)}` });
    expect(await mentionCount(bob, general)).toBe(before + 1);
    await s.messages.ack(general, bob, latest.id);
    expect(await mentionCount(bob, general)).toBe(0);
  });

  it('at most 50 users are mentioned by one message', async () => {
    const many = await Promise.all(
      Array.from({ length: 52 }, async (_, i) => (await s.register(`men_many_${i}`)).id),
    );
    const message = await s.messages.create(general, owner, { content: tag(...many) });
    expect(message.mentions.map((u) => u.id)).toEqual(many.slice(0, 50));
  });
});
