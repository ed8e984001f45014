import type { EmojiDto, ReactionEmojiDto } from '@parley/common/protocol';
import type { EmojiEntry, EmojiSource } from './sources';

/** `<:name:id>` or `<a:name:id>`, Discord's way of writing a custom emoji in text. */
const CUSTOM_TEXT = /^<(a?):([A-Za-z0-9_]{1,32}):(\d{1,20})>$/;

/** Where the media proxy serves a custom emoji (Discord's CDN path under /media); ids are digits only. */
export function emojiImageUrl(id: string, animated: boolean, size?: number): string {
  if (!/^\d{1,20}$/.test(id)) return '';
  return `/media/emojis/${id}.${animated ? 'gif' : 'png'}${size ? `?size=${size}` : ''}`;
}

/** How a custom emoji is written in a message. */
export function emojiText(e: { id: string; name: string; animated: boolean }): string {
  return `<${e.animated ? 'a' : ''}:${e.name}:${e.id}>`;
}

/** A picked emoji (unicode text or `<:name:id>`) as a reaction's emoji. */
export function reactionEmojiOf(text: string): ReactionEmojiDto {
  const m = CUSTOM_TEXT.exec(text);
  return m ? { id: m[3], name: m[2], animated: m[1] === 'a' } : { name: text };
}

export function isCustom(e: ReactionEmojiDto): e is { id: string; name: string | null; animated: boolean } {
  return 'id' in e;
}

/** Two reactions are the same emoji: custom ones by id (a rename keeps the reaction), unicode ones by text. */
export function sameEmoji(a: ReactionEmojiDto, b: ReactionEmojiDto): boolean {
  return isCustom(a) ? isCustom(b) && a.id === b.id : !isCustom(b) && a.name === b.name;
}

/** A stable key for lists. */
export function emojiKey(e: ReactionEmojiDto): string {
  return isCustom(e) ? `custom:${e.id}` : e.name;
}

/** The reaction route's emoji: unicode text, or Discord's `name:id`. */
export function emojiRoute(e: ReactionEmojiDto): string {
  return isCustom(e) ? `${e.name ?? 'emoji'}:${e.id}` : e.name;
}

/** A picker entry for a custom emoji text (recently used ones are kept as text). */
export function customEntry(text: string): EmojiEntry | null {
  const m = CUSTOM_TEXT.exec(text);
  return m ? { text, name: m[2], keywords: [], imageUrl: emojiImageUrl(m[3], m[1] === 'a', 48) } : null;
}

/** A guild's custom emoji as a picker section. */
export function guildEmojiSource(
  guildId: string,
  guildName: string,
  emojis: readonly EmojiDto[],
): EmojiSource {
  const entries: EmojiEntry[] = emojis.map((e) => ({
    text: emojiText(e),
    name: e.name,
    keywords: [e.name.toLowerCase()],
    imageUrl: emojiImageUrl(e.id, e.animated, 48),
  }));
  return { id: `guild:${guildId}`, label: guildName, load: () => Promise.resolve(entries) };
}
