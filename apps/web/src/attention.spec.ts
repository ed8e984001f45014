import type { MessageDto } from '@parley/common/protocol';
import { titleWith, unreadSummary, worthNotifying } from './attention';
import { applyDispatch, initialState, type State } from './store';

const me = { id: '10', username: 'me', display_name: null, avatar: null, email: 'me@x', created_at: '' };
const other = { id: '20', username: 'other', display_name: null, avatar: null };

function message(channelId: string, extra: Partial<MessageDto> = {}): MessageDto {
  return {
    id: '50',
    channel_id: channelId,
    author: other,
    content: 'hello',
    timestamp: '2026-12-06T10:00:00.000Z',
    edited_timestamp: null,
    attachments: [],
    mentions: [],
    mention_roles: [],
    mention_everyone: false,
    embeds: [],
    flags: 0,
    pinned: false,
    type: 0,
    ...extra,
  };
}

/** Guild 1 with #general (100, read), #random (101, unread) and #muted (102, unread, muted); DM 200 unread. */
function state(settings: unknown[] = []): State {
  return applyDispatch(initialState, 'READY', {
    session_id: 's',
    user: me,
    guilds: [
      {
        id: '1',
        name: 'G',
        icon: null,
        owner_id: '10',
        created_at: '',
        default_message_notifications: 0,
        roles: [],
        channels: [
          { id: '100', type: 0, guild_id: '1', name: 'general', last_message_id: '5' },
          { id: '101', type: 0, guild_id: '1', name: 'random', last_message_id: '9' },
          { id: '102', type: 0, guild_id: '1', name: 'muted', last_message_id: '9' },
        ],
      },
    ],
    private_channels: [{ id: '200', type: 1, recipients: [other], last_message_id: '7' }],
    read_states: [
      { channel_id: '100', last_message_id: '5', mention_count: 0 },
      { channel_id: '101', last_message_id: '3', mention_count: 2 },
      { channel_id: '102', last_message_id: '3', mention_count: 1 },
      { channel_id: '200', last_message_id: '7', mention_count: 0 },
    ],
    user_guild_settings: { entries: settings, partial: false, version: 1 },
  });
}

const mutedChannel = {
  guild_id: '1',
  message_notifications: 3,
  muted: false,
  mute_config: null,
  suppress_everyone: false,
  suppress_roles: false,
  channel_overrides: [{ channel_id: '102', message_notifications: 3, muted: true, mute_config: null }],
};

describe('attention: title, badge and desktop notifications', () => {
  test('counts mentions everywhere and unread only where not muted', () => {
    expect(unreadSummary(state())).toEqual({ mentions: 3, unread: true });
    const quiet = state([{ ...mutedChannel }]);
    expect(unreadSummary(quiet)).toEqual({ mentions: 3, unread: true });
    // Read #random: only the muted channel is unread, which no longer counts as unread.
    const read = applyDispatch(quiet, 'MESSAGE_ACK', {
      channel_id: '101',
      message_id: '9',
      mention_count: 0,
    });
    const readAgain = applyDispatch(read, 'MESSAGE_ACK', {
      channel_id: '102',
      message_id: '3',
      mention_count: 0,
    });
    expect(unreadSummary(readAgain)).toEqual({ mentions: 0, unread: false });
  });

  test('puts the count or a dot in the title', () => {
    expect(titleWith('Parley', { mentions: 0, unread: false })).toBe('Parley');
    expect(titleWith('Parley', { mentions: 0, unread: true })).toBe('• Parley');
    expect(titleWith('Parley', { mentions: 4, unread: true })).toBe('(4) Parley');
    expect(titleWith('Parley', { mentions: 120, unread: true })).toBe('(99+) Parley');
  });

  test("notifies by the settings: levels, mutes, mentions, DMs, never for one's own messages", () => {
    const s = state();
    expect(worthNotifying(s, message('100'))).toBe(true);
    expect(worthNotifying(s, message('100', { author: me }))).toBe(false);
    expect(worthNotifying(s, message('200'))).toBe(true);
    expect(worthNotifying(state([mutedChannel]), message('102', { mentions: [me] }))).toBe(false);
    const mentionsOnly = state([{ ...mutedChannel, message_notifications: 1, channel_overrides: [] }]);
    expect(worthNotifying(mentionsOnly, message('100'))).toBe(false);
    expect(worthNotifying(mentionsOnly, message('100', { mentions: [me] }))).toBe(true);
    expect(worthNotifying(mentionsOnly, message('100', { mention_everyone: true }))).toBe(true);
    const suppressed = state([{ ...mutedChannel, message_notifications: 1, suppress_everyone: true }]);
    expect(worthNotifying(suppressed, message('100', { mention_everyone: true }))).toBe(false);
  });
});
