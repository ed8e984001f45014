import { Permission } from '@parley/common';
import { atTime as at, type DomainServices, startDomainServices } from '../../support/domain-services';

/**
 * Invites at the guild service on a real SQLite file: who may create and revoke them, max_uses and max_age,
 * and bans, which keep a user out whatever invite they hold.
 */
describe('invite rules (services on SQLite)', () => {
  let s: DomainServices;
  let owner: string;
  let guildId: string;
  let general: string;

  const unknownInvite = { status: 404, code: 10006 };
  const isMember = async (userId: string) =>
    s.access.guild(guildId, userId).then(
      () => true,
      () => false,
    );
  const user = async (name: string) => (await s.register(name)).id;

  beforeAll(async () => {
    s = await startDomainServices();
    owner = await user('inv_owner');
    const guild = await s.guilds.create(owner, 'Invites');
    guildId = guild.id;
    general = guild.channels[0].id;
  });

  afterAll(async () => {
    await s?.close();
  });

  it('an invite with max_uses lets that many people in, then is unknown', async () => {
    const invite = await s.invites.create(general, owner, { max_age: 0, max_uses: 2 });
    expect(invite).toMatchObject({ max_uses: 2, uses: 0, expires_at: null, guild: { id: guildId } });
    const [first, second, third] = [await user('inv_u1'), await user('inv_u2'), await user('inv_u3')];
    await expect(s.invites.accept(invite.code, first)).resolves.toMatchObject({
      new_member: true,
      uses: 1,
    });
    // A member using it again is told so and does not use it up.
    await expect(s.invites.accept(invite.code, first)).resolves.toMatchObject({ new_member: false });
    await expect(s.invites.accept(invite.code, second)).resolves.toMatchObject({
      new_member: true,
      uses: 2,
    });
    await expect(s.invites.accept(invite.code, third)).rejects.toMatchObject(unknownInvite);
    await expect(s.invites.get(invite.code)).rejects.toMatchObject(unknownInvite);
    expect([await isMember(first), await isMember(second), await isMember(third)]).toEqual([
      true,
      true,
      false,
    ]);
  });

  it('an invite with max_age expires max_age seconds after it was made; max_age 0 never expires', async () => {
    const invite = await s.invites.create(general, owner, { max_age: 3600, max_uses: 0 });
    const expiresAt = Date.parse(invite.expires_at!);
    expect(expiresAt - Date.parse(invite.created_at)).toBe(3_600_000);
    const forever = await s.invites.create(general, owner, { max_age: 0, max_uses: 0 });
    expect(forever.expires_at).toBeNull();

    const early = await user('inv_early');
    await expect(s.invites.accept(invite.code, early)).resolves.toMatchObject({ new_member: true });

    const late = await user('inv_late');
    await at(expiresAt, async () => {
      await expect(s.invites.get(invite.code)).rejects.toMatchObject(unknownInvite);
      await expect(s.invites.accept(invite.code, late)).rejects.toMatchObject(unknownInvite);
      const listed = (await s.invites.listForGuild(guildId, owner)).map((i) => i.code);
      expect(listed).not.toContain(invite.code);
      expect(listed).toContain(forever.code);
    });
    expect(await isMember(late)).toBe(false);
    // Years later the one without max_age still lets people in.
    await at(expiresAt + 10 * 365 * 86_400_000, () => s.invites.accept(forever.code, late));
    expect(await isMember(late)).toBe(true);
  });

  it('a banned user cannot join by any invite, members are removed by the ban, and unbanning lets them back', async () => {
    const invite = await s.invites.create(general, owner, { max_age: 0, max_uses: 1 });
    const outsider = await user('inv_banned_outsider');
    const insider = await user('inv_banned_insider');
    const other = await s.invites.create(general, owner, { max_age: 0, max_uses: 0 });
    await s.invites.accept(other.code, insider);
    s.settle();

    // A ban can come before the user ever joined.
    await s.bans.ban(guildId, owner, outsider, 'spam');
    await s.bans.ban(guildId, owner, insider, null);
    s.settle();
    expect(await isMember(insider)).toBe(false);
    for (const banned of [outsider, insider])
      await expect(s.invites.accept(invite.code, banned)).rejects.toMatchObject({
        status: 403,
        code: 40007,
      });
    // The refused joins did not use the invite up.
    await expect(s.invites.get(invite.code)).resolves.toMatchObject({ uses: 0 });
    await expect(s.bans.get(guildId, owner, outsider)).resolves.toMatchObject({ reason: 'spam' });

    await s.bans.unban(guildId, owner, outsider);
    s.settle();
    await expect(s.invites.accept(invite.code, outsider)).resolves.toMatchObject({ new_member: true });
    expect(await isMember(outsider)).toBe(true);
    // Still banned: not even an invite without limits lets them in.
    await expect(s.invites.accept(other.code, insider)).rejects.toMatchObject({
      status: 403,
      code: 40007,
    });
    // The one-use invite is used up now.
    await expect(s.invites.get(invite.code)).rejects.toMatchObject(unknownInvite);
  });

  it('creating an invite needs CREATE_INSTANT_INVITE in the channel; revoking needs MANAGE_GUILD or MANAGE_CHANNELS', async () => {
    const joiner = await s.invites.create(general, owner, { max_age: 0, max_uses: 0 });
    const member = await user('inv_member');
    await s.invites.accept(joiner.code, member);
    s.settle();
    // @everyone may invite by default, but not where an overwrite takes it away.
    const mine = await s.invites.create(general, member, { max_age: 0, max_uses: 0 });
    expect(mine.inviter?.id).toBe(member);
    const closed = await s.channels.create(guildId, owner, {
      name: 'closed',
      permission_overwrites: [{ id: guildId, type: 0, deny: Permission.CREATE_INSTANT_INVITE.toString() }],
    });
    s.settle();
    await expect(s.invites.create(closed.id, member, { max_age: 0, max_uses: 0 })).rejects.toMatchObject({
      status: 403,
    });
    // DMs have no invites: a DM recipient does not hold CREATE_INSTANT_INVITE.
    const dm = await s.channels.openDm(owner, member);
    await expect(s.invites.create(dm.id, owner, { max_age: 0, max_uses: 0 })).rejects.toMatchObject({
      status: 403,
      code: 50013,
    });

    // Even its creator may not revoke an invite without MANAGE_GUILD or MANAGE_CHANNELS; the owner may.
    await expect(s.invites.delete(mine.code, member)).rejects.toMatchObject({ status: 403 });
    await expect(s.invites.listForGuild(guildId, member)).rejects.toMatchObject({ status: 403 });
    await expect(s.invites.delete(mine.code, owner)).resolves.toMatchObject({ code: mine.code });
    await expect(s.invites.get(mine.code)).rejects.toMatchObject(unknownInvite);
    // Someone outside the guild is not even told the invite exists.
    const outsider = await user('inv_outsider');
    await expect(s.invites.delete(joiner.code, outsider)).rejects.toMatchObject(unknownInvite);
    // A malformed code is unknown, not an error of another kind.
    await expect(s.invites.get('not a code!')).rejects.toMatchObject(unknownInvite);
  });
});
