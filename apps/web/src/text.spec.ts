import type { MessageDto } from '@parley/common/protocol';
import {
  compareIds,
  continuesGroup,
  emojiQuery,
  encodeCustomEmoji,
  encodeMentions,
  mentionQuery,
  newerThan,
  parseContent,
} from './text';

const msg = (id: string, author: string, timestamp: string): MessageDto => ({
  id,
  channel_id: '1',
  author: { id: author, username: author, display_name: null, avatar: null },
  content: 'x',
  timestamp,
  edited_timestamp: null,
  attachments: [],
  mentions: [],
  mention_roles: [],
  mention_everyone: false,
  embeds: [],
  flags: 0,
  pinned: false,
  type: 0,
});

describe('web client text helpers', () => {
  test('encodes :name: of the guild custom emoji, leaving code, unknown names and encoded emoji', () => {
    const base = {
      roles: [],
      require_colons: true as const,
      managed: false as const,
      available: true as const,
    };
    const emojis = [
      { ...base, id: '11', name: 'parrot', animated: true },
      { ...base, id: '22', name: 'wave', animated: false },
      { ...base, id: '33', name: 'wave', animated: false },
    ];
    expect(encodeCustomEmoji('hi :wave: :parrot::nope: `:wave:` <:wave:99>', emojis)).toBe(
      'hi <:wave:22> <a:parrot:11>:nope: `:wave:` <:wave:99>',
    );
    expect(encodeCustomEmoji('no emoji here', [])).toBe('no emoji here');
    expect(emojiQuery('look :par', 9)).toEqual({ start: 5, query: 'par' });
    expect(emojiQuery('12:30', 5)).toBeNull();
  });

  test('snowflakes compare by length, then digits', () => {
    expect(compareIds('99', '100')).toBeLessThan(0);
    expect(compareIds('383091913428828160', '383091913428828161')).toBeLessThan(0);
    expect(newerThan('5', null)).toBe(true);
    expect(newerThan(null, '5')).toBe(false);
  });

  test('a message continues its author group on the same day, within minutes', () => {
    const a = msg('1', 'u1', '2026-11-23T10:00:00.000Z');
    expect(continuesGroup(a, msg('2', 'u1', '2026-11-23T10:03:00.000Z'))).toBe(true);
    expect(continuesGroup(a, msg('2', 'u2', '2026-11-23T10:03:00.000Z'))).toBe(false);
    expect(continuesGroup(a, msg('2', 'u1', '2026-11-23T10:30:00.000Z'))).toBe(false);
    expect(continuesGroup(undefined, a)).toBe(false);
  });

  test('content splits into text, mentions and links, never markup', () => {
    expect(parseContent('hi <@123> see https://example.org/a. <b>')).toEqual([
      { kind: 'text', text: 'hi ' },
      { kind: 'mention', userId: '123' },
      { kind: 'text', text: ' see ' },
      { kind: 'link', href: 'https://example.org/a' },
      { kind: 'text', text: '. <b>' },
    ]);
  });

  test('@username becomes <@id> for people who exist, punctuation stays', () => {
    const people = [
      { id: '7', username: 'alice' },
      { id: '8', username: 'bob.smith' },
    ];
    expect(encodeMentions('hey @Alice and @bob.smith. @nobody', people)).toBe('hey <@7> and <@8>. @nobody');
    expect(encodeMentions('mail me at x@alice.org', people)).toBe('mail me at x@alice.org');
  });

  test('the @query before the caret opens suggestions', () => {
    expect(mentionQuery('hi @al', 6)).toEqual({ start: 3, query: 'al' });
    expect(mentionQuery('hi @al there', 12)).toBeNull();
    expect(mentionQuery('a@b', 3)).toBeNull();
  });
});
