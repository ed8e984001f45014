import type { EmojiRecord } from '@parley/storage';
import { emojiParam, isCustomReactionKey, toReactionEmoji } from './emoji';

describe('reaction emoji', () => {
  it('reads a custom emoji in the route as its id (Discord: name:id, also a:name:id)', () => {
    expect(emojiParam('party_parrot:123456789012345678')).toEqual({
      kind: 'custom',
      id: '123456789012345678',
    });
    expect(emojiParam('a:dance:42')).toEqual({ kind: 'custom', id: '42' });
    expect(emojiParam('👍')).toEqual({ kind: 'unicode', name: '👍' });
    expect(emojiParam('👨‍👩‍👧')).toEqual({ kind: 'unicode', name: '👨‍👩‍👧' });
  });

  it.each(['', 'name:', ':1', 'bad name:1', 'x:1:2', 'x:12345678901234567890123', '123', 'abc', '<:x:1>'])(
    'refuses %p with Unknown Emoji (10014)',
    (raw) => {
      expect(() => emojiParam(raw)).toThrow(expect.objectContaining({ code: 10014 }));
    },
  );

  it('tells custom keys (digits) from unicode ones and names them from the guild list, null once deleted', () => {
    const emoji: EmojiRecord = {
      guildId: '1',
      id: '42',
      name: 'dance',
      roles: [],
      userId: null,
      animated: true,
    };
    const list = new Map([[emoji.id, emoji]]);
    expect(isCustomReactionKey('42')).toBe(true);
    expect(isCustomReactionKey('👍')).toBe(false);
    expect(toReactionEmoji('42', list)).toEqual({ id: '42', name: 'dance', animated: true });
    expect(toReactionEmoji('43', list)).toEqual({ id: '43', name: null, animated: false });
    expect(toReactionEmoji('👍', list)).toEqual({ name: '👍' });
  });
});
