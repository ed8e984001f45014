import { effectiveLevel, isChannelMuted, shouldNotify, type NotificationSettings } from './notifications';

const base: NotificationSettings = {
  messageNotifications: 3,
  muted: false,
  muteEndTime: null,
  suppressEveryone: false,
  suppressRoles: false,
  channelOverrides: [],
};
const none = { user: false, everyone: false, role: false };
const NOW = 1_000_000;

describe('notification settings', () => {
  it('falls back from channel to category to guild settings to the guild default', () => {
    expect(effectiveLevel(null, 0, 'c', 'p')).toBe(0);
    expect(effectiveLevel(null, 1, 'c', 'p')).toBe(1);
    expect(effectiveLevel(base, 1, 'c', 'p')).toBe(1);
    expect(effectiveLevel({ ...base, messageNotifications: 2 }, 1, 'c', 'p')).toBe(2);
    const category = { channelId: 'p', messageNotifications: 0, muted: false, muteEndTime: null };
    const channel = { channelId: 'c', messageNotifications: 1, muted: false, muteEndTime: null };
    expect(
      effectiveLevel({ ...base, messageNotifications: 2, channelOverrides: [category] }, 1, 'c', 'p'),
    ).toBe(0);
    expect(effectiveLevel({ ...base, channelOverrides: [category, channel] }, 0, 'c', 'p')).toBe(1);
    // An inheriting channel override defers to its category.
    expect(
      effectiveLevel(
        { ...base, channelOverrides: [{ ...channel, messageNotifications: 3 }, category] },
        1,
        'c',
        'p',
      ),
    ).toBe(0);
    // A default outside 0/1 is read as all messages.
    expect(effectiveLevel(null, 7, 'c', null)).toBe(0);
  });

  it('mutes the guild, a category or a channel until the end time', () => {
    expect(isChannelMuted({ ...base, muted: true }, 'c', null, NOW)).toBe(true);
    expect(isChannelMuted({ ...base, muted: true, muteEndTime: NOW + 1 }, 'c', null, NOW)).toBe(true);
    expect(isChannelMuted({ ...base, muted: true, muteEndTime: NOW }, 'c', null, NOW)).toBe(false);
    const mutedCategory = { channelId: 'p', messageNotifications: 3, muted: true, muteEndTime: null };
    expect(isChannelMuted({ ...base, channelOverrides: [mutedCategory] }, 'c', 'p', NOW)).toBe(true);
    expect(isChannelMuted({ ...base, channelOverrides: [mutedCategory] }, 'other', null, NOW)).toBe(false);
    expect(isChannelMuted(null, 'c', 'p', NOW)).toBe(false);
  });

  it('notifies by level, mentions and suppression', () => {
    expect(shouldNotify(null, 0, 'c', null, none, NOW)).toBe(true);
    expect(shouldNotify(null, 1, 'c', null, none, NOW)).toBe(false);
    expect(shouldNotify(null, 1, 'c', null, { ...none, user: true }, NOW)).toBe(true);
    expect(shouldNotify(null, 1, 'c', null, { ...none, everyone: true }, NOW)).toBe(true);
    expect(shouldNotify(null, 1, 'c', null, { ...none, role: true }, NOW)).toBe(true);
    const suppressing = { ...base, messageNotifications: 1, suppressEveryone: true, suppressRoles: true };
    expect(shouldNotify(suppressing, 0, 'c', null, { ...none, everyone: true }, NOW)).toBe(false);
    expect(shouldNotify(suppressing, 0, 'c', null, { ...none, role: true }, NOW)).toBe(false);
    expect(shouldNotify(suppressing, 0, 'c', null, { ...none, user: true }, NOW)).toBe(true);
    expect(
      shouldNotify({ ...base, messageNotifications: 2 }, 0, 'c', null, { ...none, user: true }, NOW),
    ).toBe(false);
    expect(shouldNotify({ ...base, muted: true }, 0, 'c', null, { ...none, user: true }, NOW)).toBe(false);
  });
});
