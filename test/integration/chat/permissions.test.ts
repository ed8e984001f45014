import { ALL_PERMISSIONS, DEFAULT_EVERYONE_PERMISSIONS, Permission } from '@parley/common';
import { type DomainServices, startDomainServices } from '../../support/domain-services';

/**
 * Who may do what in a guild, checked at the services on a real SQLite file: permissions from @everyone and
 * roles, channel overwrites in Discord's order, ADMINISTRATOR and ownership, and the role hierarchy that
 * bounds what a moderator may do to roles and members.
 */
describe('permissions and the role hierarchy (services on SQLite)', () => {
  let s: DomainServices;
  let owner: string;
  let guildId: string;
  let general: string;

  const bits = (...list: bigint[]) => list.reduce((a, b) => a | b, 0n).toString();
  const forbidden = { status: 403, code: 50013 };

  /** A new member of the guild, joined through an invite, holding the given roles. */
  const member = async (name: string, roles: string[] = []): Promise<string> => {
    const user = await s.register(name);
    const invite = await s.invites.create(general, owner, { max_age: 0, max_uses: 0 });
    await s.invites.accept(invite.code, user.id);
    if (roles.length > 0) await s.members.update(guildId, owner, user.id, { roles });
    s.settle();
    return user.id;
  };
  const role = async (name: string, permissions: bigint, position: number): Promise<string> => {
    const created = await s.roles.create(guildId, owner, {
      name,
      permissions: permissions.toString(),
      position,
    });
    s.settle();
    return created.id;
  };
  const guildPermissions = async (userId: string) => (await s.access.guild(guildId, userId)).permissions;
  const channelPermissions = async (channelId: string, userId: string) =>
    (await s.access.channel(channelId, userId)).permissions;

  beforeAll(async () => {
    s = await startDomainServices();
    owner = (await s.register('perm_owner')).id;
    const guild = await s.guilds.create(owner, 'Permissions');
    guildId = guild.id;
    general = guild.channels[0].id;
  });

  afterAll(async () => {
    await s?.close();
  });

  describe('permission computation', () => {
    it('a member holds what @everyone holds plus what each of their roles adds', async () => {
      const greeters = await role('greeters', Permission.MENTION_EVERYONE, 1);
      const stewards = await role('stewards', Permission.MANAGE_MESSAGES, 1);
      const plain = await member('perm_plain');
      const both = await member('perm_both', [greeters, stewards]);
      expect(await guildPermissions(plain)).toBe(DEFAULT_EVERYONE_PERMISSIONS);
      expect(await guildPermissions(both)).toBe(
        DEFAULT_EVERYONE_PERMISSIONS | Permission.MENTION_EVERYONE | Permission.MANAGE_MESSAGES,
      );
      // Changing @everyone changes every member at once.
      await s.roles.update(guildId, owner, guildId, {
        permissions: (DEFAULT_EVERYONE_PERMISSIONS & ~Permission.ADD_REACTIONS).toString(),
      });
      s.settle();
      expect(await guildPermissions(plain)).toBe(DEFAULT_EVERYONE_PERMISSIONS & ~Permission.ADD_REACTIONS);
      await s.roles.update(guildId, owner, guildId, {
        permissions: DEFAULT_EVERYONE_PERMISSIONS.toString(),
      });
      s.settle();
    });

    it('the owner and an ADMINISTRATOR hold every permission', async () => {
      const admins = await role('admins', Permission.ADMINISTRATOR, 5);
      const admin = await member('perm_admin', [admins]);
      expect(await guildPermissions(owner)).toBe(ALL_PERMISSIONS);
      expect(await guildPermissions(admin)).toBe(ALL_PERMISSIONS);
    });

    it('channel overwrites apply in order: @everyone, then the roles together, then the member', async () => {
      const speakers = await role('speakers', Permission.SEND_MESSAGES, 1);
      const muted = await role('muted', 0n, 1);
      const [plain, speaker, both, silenced] = [
        await member('perm_ow_plain'),
        await member('perm_ow_speaker', [speakers]),
        await member('perm_ow_both', [speakers, muted]),
        await member('perm_ow_silenced', [speakers]),
      ];
      const announcements = await s.channels.create(guildId, owner, {
        name: 'announcements',
        permission_overwrites: [
          { id: guildId, type: 0, deny: bits(Permission.SEND_MESSAGES, Permission.ADD_REACTIONS) },
          { id: speakers, type: 0, allow: bits(Permission.SEND_MESSAGES) },
          { id: muted, type: 0, deny: bits(Permission.SEND_MESSAGES) },
          { id: silenced, type: 1, deny: bits(Permission.SEND_MESSAGES) },
          { id: plain, type: 1, allow: bits(Permission.ADD_REACTIONS) },
        ],
      });
      s.settle();
      const may = async (userId: string, bit: bigint) =>
        ((await channelPermissions(announcements.id, userId)) & bit) === bit;

      // @everyone's overwrite takes SEND_MESSAGES away; the member's own overwrite gives reactions back.
      expect(await may(plain, Permission.SEND_MESSAGES)).toBe(false);
      expect(await may(plain, Permission.ADD_REACTIONS)).toBe(true);
      // A role's allow beats @everyone's deny.
      expect(await may(speaker, Permission.SEND_MESSAGES)).toBe(true);
      expect(await may(speaker, Permission.ADD_REACTIONS)).toBe(false);
      // Between roles, an allow beats a deny (the roles' bits are combined, then allow wins).
      expect(await may(both, Permission.SEND_MESSAGES)).toBe(true);
      // The member's own deny beats their role's allow.
      expect(await may(silenced, Permission.SEND_MESSAGES)).toBe(false);
      expect(await may(silenced, Permission.VIEW_CHANNEL)).toBe(true);
      // Outside the channel nothing changed.
      expect(await guildPermissions(plain)).toBe(DEFAULT_EVERYONE_PERMISSIONS);
      await expect(s.messages.create(announcements.id, plain, { content: 'hello' })).rejects.toMatchObject(
        forbidden,
      );
      await expect(s.messages.create(announcements.id, speaker, { content: 'hello' })).resolves.toMatchObject(
        { content: 'hello' },
      );
    });

    it('without VIEW_CHANNEL a channel does not exist for the member; owners and administrators see through overwrites', async () => {
      const admins = await role('admins2', Permission.ADMINISTRATOR, 5);
      const admin = await member('perm_hidden_admin', [admins]);
      const outsider = await member('perm_hidden_plain');
      const staff = await s.channels.create(guildId, owner, {
        name: 'staff',
        permission_overwrites: [
          { id: guildId, type: 0, deny: bits(Permission.VIEW_CHANNEL) },
          { id: admin, type: 1, deny: bits(Permission.VIEW_CHANNEL, Permission.SEND_MESSAGES) },
        ],
      });
      s.settle();
      // Unknown, not forbidden: the id of a hidden channel is never confirmed.
      await expect(s.access.channel(staff.id, outsider)).rejects.toMatchObject({ status: 404, code: 10003 });
      await expect(s.channels.get(staff.id, outsider)).rejects.toMatchObject({ status: 404, code: 10003 });
      expect((await s.guilds.get(guildId, outsider)).channels.map((c) => c.id)).not.toContain(staff.id);
      // A member overwrite that gives VIEW_CHANNEL back opens it, with @everyone's other permissions.
      await s.channels.putOverwrite(staff.id, owner, outsider, {
        type: 1,
        allow: bits(Permission.VIEW_CHANNEL),
      });
      s.settle();
      expect(await channelPermissions(staff.id, outsider)).toBe(DEFAULT_EVERYONE_PERMISSIONS);
      expect((await s.guilds.get(guildId, outsider)).channels.map((c) => c.id)).toContain(staff.id);
      // An administrator's own deny does not bind them; nor does anything bind the owner.
      expect(await channelPermissions(staff.id, admin)).toBe(ALL_PERMISSIONS);
      expect(await channelPermissions(staff.id, owner)).toBe(ALL_PERMISSIONS);
    });

    it('a DM is visible to its two recipients only, with the guild-free permissions', async () => {
      const alice = (await s.register('perm_dm_alice')).id;
      const bob = (await s.register('perm_dm_bob')).id;
      const carol = (await s.register('perm_dm_carol')).id;
      // Strangers: bob takes DMs from anyone (the default is users sharing a guild).
      await s.relationships.setPrivacy(bob, 'everyone');
      const dm = await s.channels.openDm(alice, bob);
      const dmPermissions = await channelPermissions(dm.id, bob);
      expect(dmPermissions & Permission.SEND_MESSAGES).toBe(Permission.SEND_MESSAGES);
      expect(dmPermissions & Permission.MANAGE_MESSAGES).toBe(0n);
      await expect(s.access.channel(dm.id, carol)).rejects.toMatchObject({ status: 404, code: 10003 });
    });
  });

  describe('role hierarchy', () => {
    // A moderator with MANAGE_ROLES, KICK_MEMBERS and BAN_MEMBERS at position 3, between helpers (2) and seniors (4).
    let moderators: string;
    let helpers: string;
    let seniors: string;
    let moderator: string;
    let helper: string;
    let senior: string;
    let peer: string;

    beforeAll(async () => {
      moderators = await role(
        'moderators',
        Permission.MANAGE_ROLES | Permission.KICK_MEMBERS | Permission.BAN_MEMBERS | Permission.MANAGE_GUILD,
        3,
      );
      helpers = await role('helpers', Permission.MANAGE_MESSAGES, 2);
      seniors = await role('seniors', Permission.MANAGE_MESSAGES, 4);
      moderator = await member('hier_mod', [moderators]);
      helper = await member('hier_helper', [helpers]);
      senior = await member('hier_senior', [seniors]);
      peer = await member('hier_peer', [moderators]);
    });

    it('a moderator creates, edits and deletes roles only below their highest role', async () => {
      const below = await s.roles.create(guildId, moderator, { name: 'below', position: 2 });
      s.settle();
      await expect(s.roles.create(guildId, moderator, { name: 'level', position: 3 })).rejects.toMatchObject({
        status: 403,
        message: 'Cannot create a role at or above your highest role',
      });
      await expect(s.roles.update(guildId, moderator, below.id, { name: 'renamed' })).resolves.toMatchObject({
        name: 'renamed',
      });
      s.settle();
      // Not their own level, not above, and nothing moved up to it.
      await expect(s.roles.update(guildId, moderator, moderators, { name: 'x' })).rejects.toMatchObject({
        status: 403,
      });
      await expect(s.roles.update(guildId, moderator, seniors, { name: 'x' })).rejects.toMatchObject({
        status: 403,
      });
      await expect(s.roles.update(guildId, moderator, below.id, { position: 3 })).rejects.toMatchObject({
        status: 403,
      });
      await expect(s.roles.delete(guildId, moderator, seniors)).rejects.toMatchObject({ status: 403 });
      await s.roles.delete(guildId, moderator, below.id);
      s.settle();
      expect((await s.roles.list(guildId, owner)).map((r) => r.id)).not.toContain(below.id);
      // @everyone cannot be renamed or deleted, whoever asks.
      await expect(s.roles.update(guildId, owner, guildId, { name: 'all' })).rejects.toMatchObject({
        status: 400,
      });
      await expect(s.roles.delete(guildId, owner, guildId)).rejects.toMatchObject({ status: 400 });
    });

    it('nobody grants a permission they do not hold; the owner and administrators may grant any', async () => {
      await expect(
        s.roles.create(guildId, moderator, {
          name: 'channel managers',
          permissions: Permission.MANAGE_CHANNELS.toString(),
          position: 1,
        }),
      ).rejects.toMatchObject({ status: 403, message: 'Cannot grant permissions you do not have' });
      // Keeping a permission a role already has is not granting it.
      await expect(
        s.roles.update(guildId, moderator, helpers, {
          permissions: (Permission.MANAGE_MESSAGES | Permission.KICK_MEMBERS).toString(),
        }),
      ).resolves.toMatchObject({ permissions: bits(Permission.MANAGE_MESSAGES, Permission.KICK_MEMBERS) });
      s.settle();
      // Overwrites obey the same rule.
      await expect(
        s.channels.putOverwrite(general, moderator, helpers, {
          type: 0,
          allow: bits(Permission.MANAGE_CHANNELS),
        }),
      ).rejects.toMatchObject({ status: 403 });
      const byOwner = await s.roles.create(guildId, owner, {
        name: 'channel managers',
        permissions: Permission.MANAGE_CHANNELS.toString(),
        position: 1,
      });
      expect(byOwner.permissions).toBe(Permission.MANAGE_CHANNELS.toString());
      s.settle();
    });

    it('a moderator assigns and takes away only roles below their own', async () => {
      await expect(s.members.update(guildId, moderator, helper, { roles: [] })).resolves.toMatchObject({
        roles: [],
      });
      await s.members.update(guildId, moderator, helper, { roles: [helpers] });
      s.settle();
      await expect(
        s.members.update(guildId, moderator, helper, { roles: [helpers, moderators] }),
      ).rejects.toMatchObject({ status: 403, message: 'Cannot assign a role at or above your highest role' });
      await expect(
        s.members.update(guildId, moderator, helper, { roles: [helpers, seniors] }),
      ).rejects.toMatchObject({ status: 403 });
      // Nor may they take away a role at or above their own.
      await expect(s.members.update(guildId, moderator, senior, { roles: [] })).rejects.toMatchObject({
        status: 403,
      });
      // @everyone is not assignable, an unknown role is unknown.
      await expect(s.members.update(guildId, moderator, helper, { roles: [guildId] })).rejects.toMatchObject({
        status: 404,
        code: 10011,
      });
      // Without MANAGE_ROLES nobody assigns anything.
      await expect(s.members.update(guildId, helper, helper, { roles: [] })).rejects.toMatchObject(forbidden);
      expect((await s.members.get(guildId, owner, helper)).roles).toEqual([helpers]);
    });

    it('a moderator kicks, bans and renames only members below them; never the owner', async () => {
      await expect(s.members.kick(guildId, moderator, peer)).rejects.toMatchObject({
        status: 403,
        message: "Your highest role must be above the member's highest role",
      });
      await expect(s.members.kick(guildId, moderator, senior)).rejects.toMatchObject({ status: 403 });
      await expect(s.bans.ban(guildId, moderator, senior, null)).rejects.toMatchObject({ status: 403 });
      await expect(s.members.update(guildId, moderator, senior, { nick: 'x' })).rejects.toMatchObject({
        status: 403,
      });
      await expect(s.members.kick(guildId, moderator, owner)).rejects.toMatchObject({ status: 403 });
      await expect(s.bans.ban(guildId, moderator, owner, null)).rejects.toMatchObject({ status: 403 });
      // Below: allowed. Everyone may rename themselves.
      await expect(s.members.update(guildId, moderator, helper, { nick: 'Helpful' })).resolves.toMatchObject({
        nick: 'Helpful',
      });
      await expect(s.members.update(guildId, helper, helper, { nick: 'Me' })).resolves.toMatchObject({
        nick: 'Me',
      });
      s.settle();
      await s.members.kick(guildId, moderator, helper);
      s.settle();
      await expect(s.members.get(guildId, owner, helper)).rejects.toMatchObject({
        status: 404,
        code: 10007,
      });
      // The owner sits above everyone.
      await s.members.kick(guildId, owner, senior);
      s.settle();
      await expect(s.access.guild(guildId, senior)).rejects.toMatchObject({ status: 404, code: 10004 });
    });

    it('only the owner deletes the guild or hands it over; an ADMINISTRATOR cannot', async () => {
      const admins = await role('admins3', Permission.ADMINISTRATOR, 6);
      const admin = await member('hier_admin', [admins]);
      await expect(s.guilds.delete(guildId, admin)).rejects.toMatchObject({ status: 403 });
      await expect(s.guilds.update(guildId, admin, { owner_id: admin })).rejects.toMatchObject({
        status: 403,
        message: 'Only the owner can transfer the guild',
      });
      // The owner cannot leave without handing over; after handing over, the new owner is above everyone.
      await expect(s.members.leave(guildId, owner)).rejects.toMatchObject({ status: 400, code: 50055 });
      await s.guilds.update(guildId, owner, { owner_id: admin });
      s.settle();
      expect(await guildPermissions(admin)).toBe(ALL_PERMISSIONS);
      expect((await s.access.guild(guildId, admin)).topPosition).toBe(Number.POSITIVE_INFINITY);
      // The former owner keeps only what their roles give (none: @everyone's).
      expect(await guildPermissions(owner)).toBe(DEFAULT_EVERYONE_PERMISSIONS);
      await expect(s.guilds.delete(guildId, owner)).rejects.toMatchObject({ status: 403 });
      await s.guilds.update(guildId, admin, { owner_id: owner });
      s.settle();
    });
  });
});
