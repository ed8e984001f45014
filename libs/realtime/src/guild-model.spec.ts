import type { DomainEvent } from '@parley/bus';
import { DEFAULT_EVERYONE_PERMISSIONS, Permission } from '@parley/common';
import type { ChannelRecord, RoleRecord } from '@parley/storage';
import { GuildModel } from './guild-model';

const G = '100';
const OWNER = '1';
const ALICE = '2';
const BOB = '3';
const MODS = '50';
const VIEW = Permission.VIEW_CHANNEL.toString();

const role = (id: string, permissions: bigint): RoleRecord => ({
  id,
  guildId: G,
  name: id,
  permissions: permissions.toString(),
  color: 0,
  position: id === G ? 0 : 1,
  mentionable: false,
});
const channel = (id: string, overwrites: ChannelRecord['overwrites'] = []): ChannelRecord => ({
  id,
  type: 0,
  guildId: G,
  name: `c${id}`,
  topic: null,
  parentId: null,
  position: 0,
  recipients: [],
  overwrites,
});
const hidden = (id: string): ChannelRecord =>
  channel(id, [
    { channelId: id, id: G, type: 0, allow: '0', deny: VIEW },
    { channelId: id, id: MODS, type: 0, allow: VIEW, deny: '0' },
  ]);
const guildEvent = (type: DomainEvent['type'], data: unknown): DomainEvent => ({
  type,
  scope: { kind: 'guild', id: G },
  data,
});
const member = (userId: string, roles: string[]) => ({
  guildId: G,
  userId,
  nick: null,
  roles,
  joinedAt: 0,
});

function model(): GuildModel {
  const m = new GuildModel({
    guild: {
      id: G,
      name: 'g',
      icon: null,
      ownerId: OWNER,
      createdAt: 0,
      defaultMessageNotifications: 0,
    },
    roles: [role(G, DEFAULT_EVERYONE_PERMISSIONS), role(MODS, 0n)],
    channels: [channel('10'), hidden('11')],
  });
  m.fillMember(ALICE, member(ALICE, [MODS]));
  m.fillMember(BOB, member(BOB, []));
  return m;
}

const view = (m: GuildModel, userId: string) => [...(m.visibleChannels(userId) ?? [])].sort();

describe('GuildModel', () => {
  it('computes views from roles and overwrites as the permission calculator does', () => {
    const m = model();
    expect(view(m, ALICE)).toEqual(['10', '11']);
    expect(view(m, BOB)).toEqual(['10']);
    expect(view(m, OWNER)).toEqual([]); // the owner's membership is not known yet
    expect(m.visibleChannels('999')).toBeNull();
  });

  it('takes a member role change from the event itself, and a storage read never overwrites it', () => {
    const m = model();
    const before = m.version;
    const impact = m.apply(
      guildEvent('GUILD_MEMBER_UPDATE', { guild_id: G, user: { id: ALICE }, roles: [] }),
    );
    expect(impact).toEqual({ userIds: [ALICE] });
    expect(m.version).toBe(before + 1);
    expect(view(m, ALICE)).toEqual(['10']);
    // A read from a storage that has not seen the change yet (another region) changes nothing.
    expect(m.fillMember(ALICE, member(ALICE, [MODS]))).toBe(false);
    expect(view(m, ALICE)).toEqual(['10']);
  });

  it('recomputes nothing for cosmetic changes', () => {
    const m = model();
    const before = m.version;
    expect(m.apply(guildEvent('GUILD_UPDATE', { id: G, name: 'renamed', owner_id: OWNER }))).toBeNull();
    expect(
      m.apply(
        guildEvent('GUILD_ROLE_UPDATE', {
          guild_id: G,
          role: { id: MODS, name: 'renamed', color: 5, permissions: '0' },
        }),
      ),
    ).toBeNull();
    expect(
      m.apply(guildEvent('GUILD_MEMBER_UPDATE', { user: { id: BOB }, nick: 'b', roles: [] })),
    ).toBeNull();
    expect(
      m.apply(
        guildEvent('CHANNEL_UPDATE', {
          id: '11',
          name: 'renamed',
          permission_overwrites: [
            { id: MODS, type: 0, allow: VIEW, deny: '0' },
            { id: G, type: 0, allow: '0', deny: VIEW },
          ],
        }),
      ),
    ).toBeNull();
    expect(m.channel('11')?.name).toBe('renamed');
    expect(m.apply(guildEvent('GUILD_EMOJIS_UPDATE', { guild_id: G, emojis: [] }))).toBeNull();
    expect(m.version).toBe(before);
  });

  it('recomputes nothing when a role nobody here holds changes, is created or is deleted', () => {
    const m = model();
    m.apply(guildEvent('GUILD_MEMBER_UPDATE', { user: { id: ALICE }, roles: [] }));
    const before = m.version;
    expect(
      m.apply(guildEvent('GUILD_ROLE_UPDATE', { guild_id: G, role: { id: MODS, permissions: VIEW } })),
    ).toBeNull();
    expect(
      m.apply(guildEvent('GUILD_ROLE_CREATE', { guild_id: G, role: { id: '51', permissions: VIEW } })),
    ).toBeNull();
    expect(m.apply(guildEvent('GUILD_ROLE_DELETE', { guild_id: G, role_id: MODS }))).toBeNull();
    expect(m.version).toBe(before + 3); // applied all the same
    expect(m.channel('11')?.overwrites.map((o) => o.id)).toEqual([G]);
  });

  it('applies role permissions, overwrites and channel changes from the payloads', () => {
    const m = model();
    expect(
      m.apply(guildEvent('GUILD_ROLE_UPDATE', { guild_id: G, role: { id: G, permissions: '0' } })),
    ).toEqual({ everyone: true });
    expect(view(m, BOB)).toEqual([]);
    expect(view(m, ALICE)).toEqual(['11']); // the overwrite still grants it
    expect(
      m.apply(guildEvent('CHANNEL_UPDATE', { id: '11', name: 'c11', permission_overwrites: [] })),
    ).toEqual({ channelId: '11' });
    expect(view(m, ALICE)).toEqual([]);
    expect(
      m.apply(
        guildEvent('CHANNEL_CREATE', {
          id: '12',
          permission_overwrites: [{ id: BOB, type: 1, allow: VIEW, deny: '0' }],
        }),
      ),
    ).toEqual({ channelId: '12' });
    expect(view(m, BOB)).toEqual(['12']);
    expect(m.personalIds()).toEqual(new Set([OWNER, BOB]));
    expect(m.apply(guildEvent('CHANNEL_DELETE', { id: '12' }))).toEqual({ channelId: '12' });
    expect(view(m, BOB)).toEqual([]);
  });

  it('strips a deleted role from members and overwrites, as storage does', () => {
    const m = model();
    expect(m.apply(guildEvent('GUILD_ROLE_DELETE', { guild_id: G, role_id: MODS }))).toEqual({
      everyone: true,
    });
    expect(m.memberRoles(ALICE)).toEqual([]);
    expect(m.channel('11')?.overwrites.map((o) => o.id)).toEqual([G]);
    expect(view(m, ALICE)).toEqual(['10']);
  });

  it('follows memberships: join, leave, ownership', () => {
    const m = model();
    expect(m.apply(guildEvent('GUILD_MEMBER_REMOVE', { guild_id: G, user: { id: BOB } }))).toEqual({
      userIds: [BOB],
    });
    expect(m.visibleChannels(BOB)).toBeNull();
    expect(m.fillMember(BOB, member(BOB, []))).toBe(false); // a stale read does not bring them back
    expect(
      m.apply(guildEvent('GUILD_MEMBER_ADD', { guild_id: G, user: { id: BOB }, roles: [MODS] })),
    ).toEqual({ userIds: [BOB] });
    expect(view(m, BOB)).toEqual(['10', '11']);
    // A user's own GUILD_DELETE (they left) on their scope.
    expect(m.apply({ type: 'GUILD_DELETE', scope: { kind: 'user', id: BOB }, data: { id: G } })).toEqual({
      userIds: [BOB],
    });
    expect(m.visibleChannels(BOB)).toBeNull();
    // GUILD_CREATE to a joining member carries their roles in the routing hint.
    expect(
      m.apply({
        type: 'GUILD_CREATE',
        scope: { kind: 'user', id: BOB },
        data: { id: G, owner_id: OWNER, roles: [{ id: G, permissions: '0' }], channels: [] },
        routing: { guildId: G, userId: BOB, memberRoles: [MODS] },
      }),
    ).toEqual({ userIds: [BOB] });
    expect(view(m, BOB)).toEqual(['11']); // @everyone's permissions came with the event too
    m.fillMember(OWNER, member(OWNER, []));
    expect(m.apply(guildEvent('GUILD_UPDATE', { id: G, owner_id: ALICE }))).toEqual({
      userIds: [OWNER, ALICE],
    });
    expect(m.owner).toBe(ALICE);
    expect(m.apply(guildEvent('GUILD_DELETE', { id: G }))).toEqual({ gone: true });
  });

  it('forgets memberships read from storage, never those an event set', () => {
    const m = model();
    m.forgetMember(BOB);
    expect(m.knowsMember(BOB)).toBe(false);
    m.apply(guildEvent('GUILD_MEMBER_UPDATE', { user: { id: ALICE }, roles: [] }));
    m.forgetMember(ALICE);
    expect(m.knowsMember(ALICE)).toBe(true);
  });
});
