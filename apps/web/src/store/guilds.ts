import type {
  EmojiDto,
  GuildDto,
  GuildFullDto,
  MemberDto,
  MessageDto,
  PublicUser,
  RoleDto,
} from '@parley/common/protocol';
import { byPosition } from './channels';
import { presencesOf, type PresenceData } from './presence';
import type { State } from './state';
import { withUsers } from './users';

export function addGuild(s: State, g: GuildFullDto & { presences?: PresenceData[] }): State {
  return {
    ...s,
    guilds: {
      ...s.guilds,
      [g.id]: { ...g, channels: [...g.channels].sort(byPosition), emojis: g.emojis ?? [] },
    },
    guildOrder: s.guildOrder.includes(g.id) ? s.guildOrder : [...s.guildOrder, g.id],
    presence: { ...s.presence, ...presencesOf(g) },
  };
}

/** GUILD_UPDATE carries the guild without its channels and roles: those stay as they are. */
export function updateGuild(s: State, g: GuildDto): State {
  const current = s.guilds[g.id];
  if (!current) return s;
  return {
    ...s,
    guilds: {
      ...s.guilds,
      [g.id]: {
        ...current,
        ...g,
        channels: current.channels,
        roles: current.roles,
        emojis: current.emojis,
      },
    },
  };
}

/** GUILD_EMOJIS_UPDATE: the guild's whole list of custom emoji. */
export function guildEmojisUpdated(s: State, guildId: string, emojis: EmojiDto[]): State {
  const current = s.guilds[guildId];
  if (!current) return s;
  return { ...s, guilds: { ...s.guilds, [guildId]: { ...current, emojis } } };
}

export function removeGuild(s: State, guildId: string): State {
  const guild = s.guilds[guildId];
  if (!guild) return s;
  const guilds = { ...s.guilds };
  delete guilds[guildId];
  const members = { ...s.members };
  delete members[guildId];
  const messages = { ...s.messages };
  for (const c of guild.channels) delete messages[c.id];
  return { ...s, guilds, members, messages, guildOrder: s.guildOrder.filter((id) => id !== guildId) };
}

export function setMember(s: State, member: MemberDto): State {
  const members = s.members[member.guild_id];
  const users = withUsers(s.users, [member.user]);
  if (!members) return { ...s, users };
  return {
    ...s,
    users,
    members: { ...s.members, [member.guild_id]: { ...members, [member.user.id]: member } },
  };
}

/**
 * The author's member a guild MESSAGE_CREATE / MESSAGE_UPDATE carries (Discord's partial `member`), with the
 * message's author as its user, added to the guild's loaded members when the author is not among them: past the
 * 10,000 members the client loads, an author still shows by their nick, and their roles are known. A member already there
 * is kept: GUILD_MEMBER_UPDATE keeps it current, and the event's copy (the sender's permission cache) is no newer.
 * A guild whose members are not loaded is left alone (a list of one would pass for the loaded list).
 */
export function messageMemberSeen(s: State, m: MessageDto): State {
  const { guild_id: guildId, member } = m;
  const members = guildId ? s.members[guildId] : undefined;
  if (!guildId || !member || !members || members[m.author.id]) return s;
  return setMember(s, { ...member, guild_id: guildId, user: m.author });
}

export function removeMember(s: State, guildId: string, user: PublicUser): State {
  const members = s.members[guildId];
  if (!members?.[user.id]) return s;
  const rest = { ...members };
  delete rest[user.id];
  return { ...s, members: { ...s.members, [guildId]: rest } };
}

/** A guild's whole member list, as loaded over REST. */
export function setMembers(s: State, guildId: string, list: MemberDto[]): State {
  const members: Record<string, MemberDto> = {};
  for (const m of list) members[m.user.id] = m;
  return {
    ...s,
    members: { ...s.members, [guildId]: members },
    users: withUsers(
      s.users,
      list.map((m) => m.user),
    ),
  };
}

function setRoles(s: State, guildId: string, fn: (roles: RoleDto[]) => RoleDto[]): State {
  const guild = s.guilds[guildId];
  if (!guild) return s;
  return { ...s, guilds: { ...s.guilds, [guildId]: { ...guild, roles: fn(guild.roles) } } };
}

export function upsertRole(s: State, guildId: string, role: RoleDto): State {
  return setRoles(s, guildId, (roles) =>
    [...roles.filter((r) => r.id !== role.id), role].sort((a, b) => a.position - b.position),
  );
}

export function removeRole(s: State, guildId: string, roleId: string): State {
  return setRoles(s, guildId, (roles) => roles.filter((r) => r.id !== roleId));
}
