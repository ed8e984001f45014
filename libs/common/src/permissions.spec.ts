import {
  ALL_PERMISSIONS,
  Permission,
  PermissionCalculator,
  type OverwriteBits,
  type PermissionSubject,
} from './permissions';

const G = '100';
const ROLE_A = '201';
const ROLE_B = '202';

function subject(overrides: Partial<PermissionSubject> = {}): PermissionSubject {
  return {
    guildId: G,
    ownerId: '1',
    userId: '2',
    rolePermissions: new Map([
      [G, Permission.VIEW_CHANNEL | Permission.SEND_MESSAGES],
      [ROLE_A, Permission.KICK_MEMBERS],
      [ROLE_B, Permission.MANAGE_MESSAGES],
    ]),
    memberRoleIds: [],
    ...overrides,
  };
}

const ow = (id: string, type: 0 | 1, allow: bigint, deny: bigint): OverwriteBits => ({
  id,
  type,
  allow,
  deny,
});
const { VIEW_CHANNEL, SEND_MESSAGES, MANAGE_MESSAGES, ADMINISTRATOR, KICK_MEMBERS } = Permission;

describe('PermissionCalculator', () => {
  it('combines @everyone with the member roles', () => {
    const perms = PermissionCalculator.base(subject({ memberRoleIds: [ROLE_A, ROLE_B] }));
    expect(perms).toBe(VIEW_CHANNEL | SEND_MESSAGES | KICK_MEMBERS | MANAGE_MESSAGES);
  });

  it('gives the owner everything, whatever the overwrites', () => {
    const owner = subject({ userId: '1' });
    expect(PermissionCalculator.base(owner)).toBe(ALL_PERMISSIONS);
    expect(
      PermissionCalculator.channel(owner, [ow(G, 0, 0n, VIEW_CHANNEL), ow('1', 1, 0n, ALL_PERMISSIONS)]),
    ).toBe(ALL_PERMISSIONS);
  });

  it('gives ADMINISTRATOR everything and ignores overwrites', () => {
    const s = subject({
      rolePermissions: new Map([
        [G, 0n],
        [ROLE_A, ADMINISTRATOR],
      ]),
      memberRoleIds: [ROLE_A],
    });
    expect(PermissionCalculator.channel(s, [ow(G, 0, 0n, VIEW_CHANNEL)])).toBe(ALL_PERMISSIONS);
  });

  it('applies @everyone, then roles (allow beats deny among roles), then the member overwrite', () => {
    const s = subject({ memberRoleIds: [ROLE_A, ROLE_B] });
    const overwrites = [
      ow(G, 0, 0n, SEND_MESSAGES), // @everyone loses send
      ow(ROLE_A, 0, SEND_MESSAGES, 0n), // role A gives it back
      ow(ROLE_B, 0, 0n, SEND_MESSAGES), // role B denies: allow among roles wins
    ];
    expect(PermissionCalculator.channel(s, overwrites) & SEND_MESSAGES).toBe(SEND_MESSAGES);
    const withMember = [...overwrites, ow('2', 1, 0n, SEND_MESSAGES)];
    expect(PermissionCalculator.channel(s, withMember) & SEND_MESSAGES).toBe(0n);
  });

  it('ignores overwrites for roles the member does not hold', () => {
    const s = subject({ memberRoleIds: [] });
    expect(PermissionCalculator.channel(s, [ow(ROLE_A, 0, MANAGE_MESSAGES, 0n)]) & MANAGE_MESSAGES).toBe(0n);
  });

  it('denies everything in a channel the member cannot view', () => {
    const s = subject();
    expect(PermissionCalculator.channel(s, [ow(G, 0, 0n, VIEW_CHANNEL)])).toBe(0n);
    expect(
      PermissionCalculator.channel(s, [ow(G, 0, 0n, VIEW_CHANNEL), ow('2', 1, VIEW_CHANNEL, 0n)]) &
        VIEW_CHANNEL,
    ).toBe(VIEW_CHANNEL);
  });
});
