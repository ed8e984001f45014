import type { MessageDto } from '@parley/common/protocol';
import {
  applyDispatch,
  expireTyping,
  historyReplaced,
  initialState,
  mergeMessages,
  newerLoaded,
  setMembers,
  type ClientMessage,
  type State,
} from '.';

const me = { id: '10', username: 'me', display_name: null, avatar: null, email: 'me@x', created_at: '' };
const other = { id: '20', username: 'other', display_name: null, avatar: null };

function message(id: string, extra: Partial<MessageDto> = {}): MessageDto {
  return {
    id,
    channel_id: '100',
    guild_id: '1',
    author: other,
    content: `m${id}`,
    timestamp: '2026-11-23T10:00:00.000Z',
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

function ready(): State {
  let s = applyDispatch(initialState, 'READY', {
    session_id: 's',
    user: me,
    guilds: [
      {
        id: '1',
        name: 'G',
        icon: null,
        owner_id: '10',
        created_at: '',
        roles: [],
        channels: [{ id: '100', type: 0, guild_id: '1', name: 'general', last_message_id: '5' }],
      },
    ],
    private_channels: [],
    read_states: [{ channel_id: '100', last_message_id: '5', mention_count: 0 }],
  });
  s = {
    ...s,
    messages: {
      '100': { items: [], hasMore: false, newerGap: false, loading: false, loaded: true, error: null },
    },
  };
  return s;
}

describe('web client store', () => {
  test('a confirmed message replaces the optimistic copy with the same nonce, once', () => {
    const pending: ClientMessage = {
      ...message('pending-n1', { author: me, nonce: 'n1' }),
      pending: 'sending',
    };
    const items = mergeMessages([message('3'), pending], [message('9', { author: me, nonce: 'n1' })]);
    expect(items.map((m) => m.id)).toEqual(['3', '9']);
    // The gateway's copy arriving after the REST answer changes nothing.
    expect(mergeMessages(items, [message('9', { author: me, nonce: 'n1' })]).map((m) => m.id)).toEqual([
      '3',
      '9',
    ]);
  });

  test('history merges in id order and pending sends stay last', () => {
    const pending: ClientMessage = { ...message('pending-x', { nonce: 'x' }), pending: 'failed' };
    const items = mergeMessages([message('7'), pending], [message('2'), message('8')]);
    expect(items.map((m) => m.id)).toEqual(['2', '7', '8', 'pending-x']);
  });

  test('history opened at a past message holds live messages back until newer pages reach the present', () => {
    let s = historyReplaced(ready(), '100', [message('5'), message('4'), message('3')], false);
    expect(s.messages['100']).toMatchObject({ newerGap: true, loaded: true, hasMore: true });
    // A live message would sit after a gap: not shown yet, but the channel still learns of it.
    s = applyDispatch(s, 'MESSAGE_CREATE', message('90'));
    expect(s.messages['100'].items.map((m) => m.id)).toEqual(['3', '4', '5']);
    expect(s.guilds['1'].channels[0].last_message_id).toBe('90');
    // A full newer page keeps the gap; a short one closes it, and live messages show again.
    s = newerLoaded(s, '100', [message('7'), message('6')], 2);
    expect(s.messages['100'].newerGap).toBe(true);
    s = newerLoaded(s, '100', [message('90')], 2);
    expect(s.messages['100'].newerGap).toBe(false);
    s = applyDispatch(s, 'MESSAGE_CREATE', message('91'));
    expect(s.messages['100'].items.map((m) => m.id)).toEqual(['3', '4', '5', '6', '7', '90', '91']);
    // Back to the present replaces what was loaded.
    s = historyReplaced(s, '100', [message('91'), message('90')], true);
    expect(s.messages['100'].items.map((m) => m.id)).toEqual(['90', '91']);
    expect(s.messages['100'].newerGap).toBe(false);
  });

  test('messages elsewhere make the channel unread; a mention counts', () => {
    let s = ready();
    s = applyDispatch(s, 'MESSAGE_CREATE', message('6', { mentions: [me] }));
    expect(s.guilds['1'].channels[0].last_message_id).toBe('6');
    expect(s.readStates['100'].mention_count).toBe(1);
    s = applyDispatch(s, 'MESSAGE_ACK', { channel_id: '100', message_id: '6', mention_count: 0 });
    expect(s.readStates['100']).toEqual({ channel_id: '100', last_message_id: '6', mention_count: 0 });
  });

  test('our own reaction is not counted twice when the gateway echoes it', () => {
    let s = ready();
    s = applyDispatch(s, 'MESSAGE_CREATE', message('6'));
    const react = (type: 'MESSAGE_REACTION_ADD' | 'MESSAGE_REACTION_REMOVE', user: string) =>
      (s = applyDispatch(s, type, {
        user_id: user,
        channel_id: '100',
        message_id: '6',
        emoji: { name: '👍' },
      }));
    react('MESSAGE_REACTION_ADD', '20');
    react('MESSAGE_REACTION_ADD', '10');
    react('MESSAGE_REACTION_ADD', '10');
    expect(s.messages['100'].items[0].reactions).toEqual([{ emoji: { name: '👍' }, count: 2, me: true }]);
    react('MESSAGE_REACTION_REMOVE', '10');
    react('MESSAGE_REACTION_REMOVE', '20');
    expect(s.messages['100'].items[0].reactions).toEqual([]);
  });

  test("a link preview's partial MESSAGE_UPDATE (id, channel, embeds) keeps the rest of the message", () => {
    let s = ready();
    s = applyDispatch(s, 'MESSAGE_CREATE', message('6', { content: 'see https://example.test/' }));
    const embeds = [{ type: 'link', url: 'https://example.test/', title: 'Example' }];
    s = applyDispatch(s, 'MESSAGE_UPDATE', { id: '6', channel_id: '100', guild_id: '1', embeds });
    expect(s.messages['100'].items[0]).toMatchObject({ content: 'see https://example.test/', embeds });
    expect(s.messages['100'].items[0].author).toEqual(message('6').author);
  });

  test('edits, deletions and typing apply live; a new READY keeps only unsent messages', () => {
    let s = ready();
    s = applyDispatch(s, 'TYPING_START', { channel_id: '100', user_id: '20', timestamp: 1 });
    expect(Object.keys(s.typing['100'])).toEqual(['20']);
    s = applyDispatch(s, 'MESSAGE_CREATE', message('6'));
    expect(s.typing['100']).toEqual({});
    s = applyDispatch(s, 'MESSAGE_UPDATE', message('6', { content: 'edited', edited_timestamp: 'now' }));
    expect(s.messages['100'].items[0].content).toBe('edited');
    s = applyDispatch(s, 'MESSAGE_DELETE', { id: '6', channel_id: '100' });
    expect(s.messages['100'].items).toEqual([]);
    s = applyDispatch(s, 'MESSAGE_CREATE', message('7'));
    s = applyDispatch(s, 'MESSAGE_CREATE', message('8'));
    s = applyDispatch(s, 'MESSAGE_CREATE', message('9'));
    s = applyDispatch(s, 'MESSAGE_DELETE_BULK', { ids: ['7', '9', '404'], channel_id: '100' });
    expect(s.messages['100'].items.map((m) => m.id)).toEqual(['8']);
    s = applyDispatch(s, 'MESSAGE_DELETE', { id: '8', channel_id: '100' });
    s.messages['100'].items.push({ ...message('pending-z', { nonce: 'z' }), pending: 'failed' });
    const again = applyDispatch(s, 'READY', {
      session_id: 't',
      user: me,
      guilds: [],
      private_channels: [],
      read_states: [],
    });
    expect(again.messages['100'].loaded).toBe(false);
    expect(again.messages['100'].items.map((m) => m.id)).toEqual(['pending-z']);
  });

  test('a guild TYPING_START keeps the member it carries (a member list not loaded still names them); it expires', () => {
    let s = ready();
    const member = {
      guild_id: '1',
      user: { id: '21', username: 'typist', display_name: 'Typist', avatar: null },
      nick: 'Tip',
      roles: ['2'],
      joined_at: '2026-11-23T10:00:00.000Z',
      communication_disabled_until: null,
    };
    s = applyDispatch(s, 'TYPING_START', {
      channel_id: '100',
      guild_id: '1',
      user_id: '21',
      timestamp: 1,
      member,
    });
    expect(s.members['1']).toBeUndefined();
    expect(s.typing['100']['21']).toEqual({ until: expect.any(Number), member });
    s = expireTyping(s, s.typing['100']['21'].until);
    expect(s.typing).toEqual({});
  });

  test("a guild MESSAGE_CREATE's member joins the loaded members when the author is not there, never replaces one", () => {
    const partial = {
      nick: 'Oth',
      roles: ['2'],
      joined_at: '2026-11-23T10:00:00.000Z',
      communication_disabled_until: null,
    };
    // Not loaded: left to the load (a list of one would pass for the loaded list).
    let s = applyDispatch(ready(), 'MESSAGE_CREATE', message('6', { member: partial }));
    expect(s.members['1']).toBeUndefined();
    // Loaded without the author (a guild past the 10,000 members the client loads): added, the author as user.
    const mine = {
      guild_id: '1',
      user: me,
      nick: null,
      roles: [],
      joined_at: '',
      communication_disabled_until: null,
    };
    s = setMembers(s, '1', [mine]);
    s = applyDispatch(s, 'MESSAGE_CREATE', message('7', { member: partial }));
    expect(s.members['1']).toEqual({ '10': mine, '20': { guild_id: '1', user: other, ...partial } });
    // Already there: GUILD_MEMBER_UPDATE keeps it current, a message's copy does not replace it.
    s = applyDispatch(s, 'MESSAGE_CREATE', message('8', { member: { ...partial, nick: 'stale' } }));
    expect(s.members['1']['20'].nick).toBe('Oth');
    // A DM or a webhook's message carries none.
    const before = s.members;
    s = applyDispatch(s, 'MESSAGE_CREATE', message('9', { author: { ...other, id: '30' } }));
    expect(s.members).toBe(before);
  });

  test('READY presences show guild-mates online at once; a later READY replaces them', () => {
    const withPresences = (presences: unknown[]) =>
      applyDispatch(initialState, 'READY', {
        session_id: 's',
        user: me,
        guilds: [],
        private_channels: [],
        read_states: [],
        presences,
      });
    let s = withPresences([
      { user: { id: '20' }, user_id: '20', status: 'idle' },
      { user: { id: '30' }, user_id: '30', status: 'online' },
    ]);
    expect(s.presence).toEqual({ '10': 'online', '20': 'idle', '30': 'online' });
    s = applyDispatch(s, 'PRESENCE_UPDATE', { user: { id: '30' }, guild_id: '1', status: 'offline' });
    expect(s.presence['30']).toBe('offline');
    s = withPresences([{ user: { id: '30' }, user_id: '30', status: 'dnd' }]);
    expect(s.presence).toEqual({ '10': 'online', '30': 'dnd' });
  });
  test('GUILD_DELETE of a guild someone else owns leaves a notice; of our own, none', () => {
    let s = ready();
    s = { ...s, guilds: { '1': { ...s.guilds['1'], owner_id: other.id } } };
    s = applyDispatch(s, 'GUILD_DELETE', { id: '1' });
    expect(s.guilds['1']).toBeUndefined();
    expect(s.notice).toMatch(/no longer a member of G/);
    // ready()'s guild is ours: deleting it ourselves needs no explanation.
    expect(applyDispatch(ready(), 'GUILD_DELETE', { id: '1' }).notice).toBeNull();
  });
  test('VOICE_STATE_UPDATE moves a user between voice channels and out', () => {
    const state = (channel_id: string | null) => ({
      guild_id: '1',
      channel_id,
      user_id: '20',
      session_id: 'PA_1',
      deaf: false,
      mute: false,
      self_deaf: false,
      self_mute: false,
      suppress: false,
    });
    let s = applyDispatch(ready(), 'VOICE_STATE_UPDATE', state('200'));
    expect(Object.keys(s.voice['200'])).toEqual(['20']);
    s = applyDispatch(s, 'VOICE_STATE_UPDATE', state('201'));
    expect(s.voice['200']).toBeUndefined();
    expect(Object.keys(s.voice['201'])).toEqual(['20']);
    s = applyDispatch(s, 'VOICE_STATE_UPDATE', state(null));
    expect(s.voice).toEqual({});
  });
  test('a deleted message leaves its replies pointing at nothing (null), as the server does', () => {
    let s = ready();
    s = applyDispatch(s, 'MESSAGE_CREATE', message('6'));
    s = applyDispatch(
      s,
      'MESSAGE_CREATE',
      message('7', {
        type: 19,
        message_reference: { type: 0, message_id: '6', channel_id: '100' },
        referenced_message: message('6'),
      }),
    );
    s = applyDispatch(s, 'MESSAGE_DELETE', { id: '6', channel_id: '100' });
    expect(s.messages['100'].items.map((m) => [m.id, m.referenced_message])).toEqual([['7', null]]);
  });
});
