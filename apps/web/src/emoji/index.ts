import { registerEmojiSource } from './sources';
import { unicodeEmoji } from './unicode';

export {
  emojiSources,
  loadSource,
  registerEmojiSource,
  searchEmoji,
  type EmojiEntry,
  type EmojiSource,
} from './sources';
export { normaliseEmoji } from './unicode';
export { recentEmoji, rememberEmoji } from './recent';

registerEmojiSource(unicodeEmoji);
export {
  customEntry,
  emojiImageUrl,
  emojiKey,
  emojiRoute,
  emojiText,
  guildEmojiSource,
  isCustom,
  reactionEmojiOf,
  sameEmoji,
} from './custom';
