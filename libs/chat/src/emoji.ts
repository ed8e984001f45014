import { BadRequestError, type EmojiDto, type PublicUser, type ReactionEmojiDto } from '@parley/common';
import type { EmojiRecord } from '@parley/storage';

// Sequences of pictographs, flags, keycaps, skin-tone modifiers, joiners and variation selectors.
const EMOJI =
  /^(?:\p{Extended_Pictographic}|\p{Regional_Indicator}|\p{Emoji_Modifier}|\u200d|\ufe0f|\u20e3|[#*0-9])+$/u;
/** Discord's route form of a custom emoji, `name:id` (clients also send `a:name:id`); the id decides. */
const CUSTOM = /^(?:a:)?([A-Za-z0-9_]{1,32}):([0-9]{1,20})$/;
/** A custom emoji's reaction key in storage: its id alone, so a rename keeps one count. */
const CUSTOM_KEY = /^[0-9]{1,20}$/;

/** Discord's custom emoji names: 2 to 32 letters, digits and underscores. */
export const EMOJI_NAME = /^[A-Za-z0-9_]{2,32}$/;

export type ReactionEmoji = { kind: 'unicode'; name: string } | { kind: 'custom'; id: string };

/** A reaction's emoji from the route: a unicode emoji, or `name:id` of a custom one. */
export function emojiParam(raw: string): ReactionEmoji {
  const custom = CUSTOM.exec(raw);
  if (custom) return { kind: 'custom', id: custom[2] };
  if (raw.length === 0 || raw.length > 32 || !EMOJI.test(raw) || /^[#*0-9]+$/.test(raw))
    throw new BadRequestError('Unknown emoji', 10014);
  return { kind: 'unicode', name: raw };
}

/** Whether a stored reaction key names a custom emoji (by id) rather than a unicode one. */
export function isCustomReactionKey(key: string): boolean {
  return CUSTOM_KEY.test(key);
}

/** A stored reaction key as Discord shows it; a custom emoji no longer in `emojis` has a null name. */
export function toReactionEmoji(key: string, emojis: ReadonlyMap<string, EmojiRecord>): ReactionEmojiDto {
  if (!isCustomReactionKey(key)) return { name: key };
  const emoji = emojis.get(key);
  return { id: key, name: emoji?.name ?? null, animated: emoji?.animated ?? false };
}

export function toEmoji(emoji: EmojiRecord, user?: PublicUser): EmojiDto {
  return {
    id: emoji.id,
    name: emoji.name,
    roles: emoji.roles,
    ...(user ? { user } : {}),
    require_colons: true,
    managed: false,
    animated: emoji.animated,
    available: true,
  };
}

/** The file store keys an emoji's image may have (static PNG or animated GIF), for deleting it. */
export function emojiFileKeys(emojiId: string): string[] {
  return [`emojis/${emojiId}.png`, `emojis/${emojiId}.gif`];
}
