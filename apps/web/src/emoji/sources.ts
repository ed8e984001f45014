/** One emoji the picker can offer: unicode ones have `text`; a guild's custom emoji will also carry an image. */
export interface EmojiEntry {
  /** What is inserted into a message or sent as a reaction (a unicode emoji, or `<:name:id>` later). */
  text: string;
  /** The name people search by and hear read out ("thumbs up"). */
  name: string;
  /** More words that find it ("+1", "like"). */
  keywords: readonly string[];
  /** Shown instead of `text` when set (custom emoji). */
  imageUrl?: string;
}

/** A set of emoji shown as one section of the picker; loaded on first use. */
export interface EmojiSource {
  id: string;
  label: string;
  load(): Promise<readonly EmojiEntry[]>;
}

// The picker reads whatever sources are registered, in order: unicode emoji now; guild emoji register here too.
const sources: EmojiSource[] = [];
const loaded = new Map<string, Promise<readonly EmojiEntry[]>>();

export function registerEmojiSource(source: EmojiSource): () => void {
  sources.push(source);
  return () => {
    const i = sources.indexOf(source);
    if (i >= 0) sources.splice(i, 1);
    loaded.delete(source.id);
  };
}

export function emojiSources(): readonly EmojiSource[] {
  return sources;
}

/** Loads a source once; a failed load is tried again next time. */
export function loadSource(source: EmojiSource): Promise<readonly EmojiEntry[]> {
  let p = loaded.get(source.id);
  if (!p) {
    p = source.load().catch((err: unknown) => {
      loaded.delete(source.id);
      throw err;
    });
    loaded.set(source.id, p);
  }
  return p;
}

/** Entries whose name or a keyword starts with each word of the query (all words must match). */
export function searchEmoji(entries: readonly EmojiEntry[], query: string): EmojiEntry[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...entries];
  return entries.filter((e) => {
    const hay = [...e.name.toLowerCase().split(/[\s:_-]+/), ...e.keywords.map((k) => k.toLowerCase())];
    return words.every((w) => hay.some((h) => h.startsWith(w)));
  });
}
