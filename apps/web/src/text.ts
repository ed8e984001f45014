import type { EmojiDto, MessageDto, PublicUser } from '@parley/common/protocol';

/** Snowflakes are decimal strings of at most 20 digits: longer is newer, then lexical order. */
export function compareIds(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function newerThan(a: string | null | undefined, b: string | null | undefined): boolean {
  if (!a) return false;
  if (!b) return true;
  return compareIds(a, b) > 0;
}

export function displayName(
  user: Pick<PublicUser, 'username' | 'display_name'>,
  nick?: string | null,
): string {
  return nick || user.display_name || user.username;
}

const GROUP_GAP_MS = 7 * 60 * 1000;

export function dayKey(iso: string): string {
  const d = new Date(iso);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

/** Whether `m` continues `prev`'s group: same author, same day, within a few minutes. */
export function continuesGroup(prev: MessageDto | undefined, m: MessageDto): boolean {
  if (!prev) return false;
  if (prev.author.id !== m.author.id) return false;
  if (dayKey(prev.timestamp) !== dayKey(m.timestamp)) return false;
  return Date.parse(m.timestamp) - Date.parse(prev.timestamp) < GROUP_GAP_MS;
}

export type Segment =
  { kind: 'text'; text: string } | { kind: 'mention'; userId: string } | { kind: 'link'; href: string };

const TOKEN = /<@!?(\d{1,20})>|\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;

/** Splits message content into plain text, `<@id>` mentions and http(s) links (never markup). */
export function parseContent(content: string): Segment[] {
  const out: Segment[] = [];
  let last = 0;
  for (const match of content.matchAll(TOKEN)) {
    const at = match.index;
    if (at > last) out.push({ kind: 'text', text: content.slice(last, at) });
    if (match[1]) out.push({ kind: 'mention', userId: match[1] });
    else out.push({ kind: 'link', href: match[0] });
    last = at + match[0].length;
  }
  if (last < content.length) out.push({ kind: 'text', text: content.slice(last) });
  return out;
}

/** Turns `@username` written in the composer into `<@id>` for the people it names. */
export function encodeMentions(text: string, people: readonly Pick<PublicUser, 'id' | 'username'>[]): string {
  if (!text.includes('@') || people.length === 0) return text;
  const byName = new Map(people.map((p) => [p.username.toLowerCase(), p.id]));
  return text.replace(/(^|[^\w<])@([A-Za-z0-9_.]{2,32})/g, (whole, before: string, name: string) => {
    let candidate = name;
    // "@alice." at the end of a sentence: the dot is punctuation unless a username has it.
    while (candidate.length >= 2) {
      const id = byName.get(candidate.toLowerCase());
      if (id) return `${before}<@${id}>${name.slice(candidate.length)}`;
      if (!candidate.endsWith('.')) break;
      candidate = candidate.slice(0, -1);
    }
    return whole;
  });
}

/** The `@query` being typed just before the caret, if any. */
/**
 * Turns `:name:` written in the composer into `<:name:id>` (or `<a:name:id>`) for the guild's custom emoji, as
 * Discord's client does; text inside code spans and already-encoded emoji stay as they are.
 */
export function encodeCustomEmoji(text: string, emojis: readonly EmojiDto[]): string {
  if (!text.includes(':') || emojis.length === 0) return text;
  const byName = new Map<string, EmojiDto>();
  for (const e of emojis) if (!byName.has(e.name)) byName.set(e.name, e);
  return text
    .split(/(`[^`]*`|<a?:[A-Za-z0-9_]{1,32}:\d{1,20}>)/)
    .map((part, i) =>
      i % 2 === 1
        ? part
        : part.replace(/:([A-Za-z0-9_]{2,32}):/g, (whole, name: string) => {
            const e = byName.get(name);
            return e ? `<${e.animated ? 'a' : ''}:${e.name}:${e.id}>` : whole;
          }),
    )
    .join('');
}

/** The `:nam` being typed just before the caret, for custom emoji suggestions. */
export function emojiQuery(text: string, caret: number): { start: number; query: string } | null {
  const match = /(^|\s):([A-Za-z0-9_]{2,32})$/.exec(text.slice(0, caret));
  if (!match) return null;
  return { start: caret - match[2].length - 1, query: match[2].toLowerCase() };
}

export function mentionQuery(text: string, caret: number): { start: number; query: string } | null {
  const before = text.slice(0, caret);
  const match = /(^|\s)@([A-Za-z0-9_.]{0,32})$/.exec(before);
  if (!match) return null;
  return { start: caret - match[2].length - 1, query: match[2].toLowerCase() };
}

export function mentionsUser(m: MessageDto, userId: string): boolean {
  return m.mention_everyone || m.mentions.some((u) => u.id === userId);
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayFormat = new Intl.DateTimeFormat(undefined, {
  weekday: 'long',
  year: 'numeric',
  month: 'long',
  day: 'numeric',
});
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });

export const formatTime = (iso: string) => timeFormat.format(new Date(iso));
export const formatDay = (iso: string) => dayFormat.format(new Date(iso));
export const formatFull = (iso: string) => fullFormat.format(new Date(iso));

/** A short random id for `nonce` (at most 64 characters on the wire). */
export function makeNonce(): string {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
