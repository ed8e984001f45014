import type { RoleDto } from '@parley/common/protocol';
import { colorStyle, roleColor } from './perms';

const role = (id: string, position: number, color: number): RoleDto =>
  ({ id, name: `r${id}`, position, color, permissions: '0' }) as RoleDto;

describe('roleColor: a member name takes the colour of their highest coloured role', () => {
  const roles = [role('1', 0, 0), role('10', 1, 0x3498db), role('11', 3, 0), role('12', 2, 0xe91e63)];

  it('picks the highest-positioned role with a colour, skipping colourless ones above it', () => {
    expect(roleColor(roles, ['10', '11', '12'])).toBe(0xe91e63);
    expect(roleColor(roles, ['10', '11'])).toBe(0x3498db);
  });

  it('is 0 without a coloured role, without roles, or for roles the guild no longer has', () => {
    expect(roleColor(roles, ['11'])).toBe(0);
    expect(roleColor(roles, [])).toBe(0);
    expect(roleColor(roles, undefined)).toBe(0);
    expect(roleColor(roles, ['99'])).toBe(0);
  });

  it('breaks a tie of positions by the older role (the lower id)', () => {
    expect(roleColor([role('21', 2, 0x00ff00), role('20', 2, 0xff0000)], ['20', '21'])).toBe(0xff0000);
  });

  it('renders as a six-digit CSS colour, and none for 0', () => {
    expect(colorStyle(0x00aa01)).toEqual({ color: '#00aa01' });
    expect(colorStyle(0)).toBeUndefined();
  });
});
