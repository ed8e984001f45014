import type { EmojiEntry, EmojiSource } from './sources';

/**
 * One spelling per emoji: drop U+FE0F after a character that is already shown as an emoji ("👍️" -> "👍"), so a
 * reaction picked here and one typed or sent by another client count as the same reaction.
 */
export function normaliseEmoji(text: string): string {
  return text.replace(/(\p{Emoji_Presentation})\uFE0F/gu, '$1');
}

interface Compact {
  unicode: string;
  label: string;
  group?: number;
  tags?: string[];
}

/** Unicode emoji from emojibase's English data set, in its own chunk: fetched the first time a picker opens. */
export const unicodeEmoji: EmojiSource = {
  id: 'unicode',
  label: 'Emoji',
  async load(): Promise<readonly EmojiEntry[]> {
    const data = (await import('emojibase-data/en/compact.json')).default as Compact[];
    // Group 2 is skin-tone and hair components, and entries without a group are bare regional letters.
    return data
      .filter((e) => e.group !== undefined && e.group !== 2)
      .map((e) => ({ text: normaliseEmoji(e.unicode), name: e.label, keywords: e.tags ?? [] }));
  },
};
