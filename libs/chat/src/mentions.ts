import type { RoleRecord } from '@parley/storage';
import { isSnowflake } from '@parley/common';

const USER_MENTION = /<@!?([0-9]{1,19})>/g;
const ROLE_MENTION = /<@&([0-9]{1,19})>/g;
const EVERYONE = /@(everyone|here)\b/;
/** At most this many users and as many roles are mentioned by one message; the rest stay plain text. */
export const MAX_MENTIONS = 50;

/** Discord's allowed_mentions object, as accepted on create and edit. */
export interface AllowedMentions {
  parse?: ('users' | 'roles' | 'everyone')[];
  users?: string[];
  roles?: string[];
  replied_user?: boolean;
}

export interface ParsedMentions {
  users: string[];
  roles: string[];
  everyone: boolean;
  /** Whether the author of a replied-to message is mentioned too. */
  repliedUser: boolean;
}

export interface MentionContext {
  /** The guild's roles; null in a DM (no role or @everyone mentions there). */
  roles: readonly RoleRecord[] | null;
  /** The author holds MENTION_EVERYONE in the channel: @everyone, @here and every role may be mentioned. */
  mentionEveryone: boolean;
}

/**
 * The mentions a message makes, by Discord's rules: without allowed_mentions every `<@id>`, `<@&id>` and
 * `@everyone`/`@here` in the content counts (and the replied-to author); with it, only the kinds in `parse`
 * and the ids listed in `users`/`roles` (which must also be in the content), and the replied-to author only
 * with replied_user: true. A role counts only when it is mentionable or the author has MENTION_EVERYONE;
 * @everyone and @here only with MENTION_EVERYONE. Anything not counted stays plain text.
 */
export function parseMentions(
  content: string,
  allowed: AllowedMentions | undefined,
  context: MentionContext,
): ParsedMentions {
  const parse = new Set(allowed ? (allowed.parse ?? []) : ['users', 'roles', 'everyone']);
  const listedUsers = new Set(allowed?.users ?? []);
  const listedRoles = new Set(allowed?.roles ?? []);
  const users = new Set<string>();
  for (const match of content.matchAll(USER_MENTION)) {
    if (users.size >= MAX_MENTIONS) break;
    const id = match[1];
    if (isSnowflake(id) && (parse.has('users') || listedUsers.has(id))) users.add(id);
  }
  const roles = new Set<string>();
  if (context.roles) {
    const byId = new Map(context.roles.map((r) => [r.id, r]));
    for (const match of content.matchAll(ROLE_MENTION)) {
      if (roles.size >= MAX_MENTIONS) break;
      const role = byId.get(match[1]);
      // The @everyone role (the guild's id) is mentioned as @everyone, never as <@&id>.
      if (!role || role.id === role.guildId) continue;
      if (!(parse.has('roles') || listedRoles.has(role.id))) continue;
      if (role.mentionable || context.mentionEveryone) roles.add(role.id);
    }
  }
  const everyone =
    context.roles !== null && context.mentionEveryone && parse.has('everyone') && EVERYONE.test(content);
  const repliedUser = allowed ? allowed.replied_user === true : true;
  return { users: [...users], roles: [...roles], everyone, repliedUser };
}
