/**
 * Discord's MESSAGE_CONTENT rule: a session without that intent gets messages with `content`, `embeds`,
 * `attachments`, `components` and `poll` emptied, except in DMs, messages it wrote, and messages that mention
 * it. The blanked payload is built once per event (the last one is kept, as a dispatch reaches every session in
 * a row) and shared by every recipient it applies to.
 */
const CONTENT_EVENTS = new Set(['MESSAGE_CREATE', 'MESSAGE_UPDATE']);

interface Parsed {
  source: string;
  authorId: string | undefined;
  mentionIds: Set<string>;
  inGuild: boolean;
  blanked: string;
}

let last: Parsed | null = null;

function parse(d: string): Parsed {
  if (last?.source === d) return last;
  const message = JSON.parse(d) as Record<string, unknown>;
  const author = message.author as { id?: string } | undefined;
  const mentions = Array.isArray(message.mentions) ? (message.mentions as Array<{ id?: string }>) : [];
  const blanked = { ...message };
  if ('content' in blanked) blanked.content = '';
  if ('embeds' in blanked) blanked.embeds = [];
  if ('attachments' in blanked) blanked.attachments = [];
  if ('components' in blanked) blanked.components = [];
  delete blanked.poll;
  last = {
    source: d,
    authorId: author?.id,
    mentionIds: new Set(mentions.map((m) => m.id).filter((id): id is string => typeof id === 'string')),
    inGuild: typeof message.guild_id === 'string',
    blanked: JSON.stringify(blanked),
  };
  return last;
}

/** The payload this recipient may see: `d` itself, or its blanked copy. */
export function withMessageContentRule(t: string, d: string, userId: string, hasIntent: boolean): string {
  if (hasIntent || !CONTENT_EVENTS.has(t)) return d;
  const parsed = parse(d);
  if (!parsed.inGuild || parsed.authorId === userId || parsed.mentionIds.has(userId)) return d;
  return parsed.blanked;
}
