import type {
  ChannelDto,
  EmojiDto,
  DispatchType,
  GuildDto,
  GuildFullDto,
  MemberDto,
  MessageDto,
  ReactionEmojiDto,
  PublicUser,
  ReadStateDto,
  RoleDto,
  SelfUser,
  UserGuildSettingsDto,
} from '@parley/common/protocol';
import { byPosition, removeChannel, upsertChannel } from './channels';
import {
  addGuild,
  removeGuild,
  removeMember,
  removeRole,
  setMember,
  updateGuild,
  upsertRole,
  guildEmojisUpdated,
  messageMemberSeen,
} from './guilds';
import { deleteMessage, editMessage, keepOnlyPending, react, receiveMessage } from './messages';
import { presencesOf, presenceUpdated, type PresenceData } from './presence';
import { acknowledged } from './read-states';
import type { PresenceStatus, State, VoiceStateDto } from './state';
import { typingStarted } from './typing';
import { withUsers } from './users';
import { setSnowflakeEpoch } from '../search';
import { voiceStateUpdated } from './voice';

/**
 * GUILD_DELETE: we were kicked or banned, or the guild was deleted (the payload does not say which). Unless we
 * deleted it ourselves (owner), say so once: otherwise the guild just vanishes and people wonder why.
 */
function removedFromGuild(s: State, guildId: string): State {
  const guild = s.guilds[guildId];
  const next = removeGuild(s, guildId);
  if (!guild || guild.owner_id === s.me?.id) return next;
  return {
    ...next,
    notice: `You are no longer a member of ${guild.name}: a moderator removed you, or the guild was deleted.`,
  };
}

interface ReadyData {
  user: SelfUser;
  guilds: (GuildFullDto & { presences?: PresenceData[]; members?: MemberDto[] })[];
  private_channels: ChannelDto[];
  read_states: ReadStateDto[];
  user_guild_settings?: { entries: UserGuildSettingsDto[] };
  /** Guild-mates who are not offline when the session starts (docs/gateway.md); the rest are offline. */
  presences?: PresenceData[];
  /** The epoch the instance's ids count from (search turns dates into ids with it). */
  snowflake_epoch?: number;
}

/** READY replaces everything the previous session knew, except the messages still being sent. */
function onReady(s: State, d: ReadyData): State {
  if (d.snowflake_epoch !== undefined) setSnowflakeEpoch(d.snowflake_epoch);
  const guilds: Record<string, GuildFullDto> = {};
  let presence: Record<string, PresenceStatus> = {};
  for (const g of d.guilds) {
    guilds[g.id] = { ...g, channels: [...g.channels].sort(byPosition) };
    presence = { ...presence, ...presencesOf(g) };
  }
  presence = { ...presence, ...presencesOf(d) };
  const dms: Record<string, ChannelDto> = {};
  for (const c of d.private_channels) dms[c.id] = c;
  const readStates: Record<string, ReadStateDto> = {};
  for (const r of d.read_states) readStates[r.channel_id] = r;
  const guildSettings: Record<string, UserGuildSettingsDto> = {};
  for (const g of d.user_guild_settings?.entries ?? []) guildSettings[g.guild_id] = g;
  return {
    ...s,
    me: d.user,
    synced: true,
    guilds,
    guildOrder: d.guilds.map((g) => g.id),
    members: {},
    dms,
    readStates,
    guildSettings,
    messages: keepOnlyPending(s.messages),
    typing: {},
    // READY carries no voice states: whoever is in a channel is announced again as they join.
    voice: {},
    presence: { ...presence, [d.user.id]: s.ownStatus === 'invisible' ? 'offline' : s.ownStatus },
    users: withUsers(
      s.users,
      d.private_channels.flatMap((c) => c.recipients ?? []),
    ),
  };
}

/** Applies one gateway dispatch to the state. */
export function applyDispatch(s: State, type: DispatchType, data: unknown): State {
  switch (type) {
    case 'READY':
      return onReady(s, data as ReadyData);
    case 'RESUMED':
    case 'INVALID_SESSION':
    case 'CHANNEL_PINS_UPDATE':
    case 'GUILD_MEMBER_LIST_UPDATE':
    case 'WEBHOOKS_UPDATE':
    case 'GUILD_BAN_ADD':
    case 'GUILD_BAN_REMOVE':
    case 'GUILD_AUDIT_LOG_ENTRY_CREATE':
    case 'AUTO_MODERATION_RULE_CREATE':
    case 'AUTO_MODERATION_RULE_UPDATE':
    case 'AUTO_MODERATION_RULE_DELETE':
    case 'AUTO_MODERATION_ACTION_EXECUTION':
      return s;
    case 'RELATIONSHIP_ADD': {
      const d = data as { id: string; type: number };
      return d.type === 2 ? { ...s, blocked: { ...s.blocked, [d.id]: true } } : s;
    }
    case 'RELATIONSHIP_REMOVE': {
      const { [(data as { id: string }).id]: _gone, ...blocked } = s.blocked;
      return { ...s, blocked };
    }
    case 'MESSAGE_CREATE':
      return receiveMessage(messageMemberSeen(s, data as MessageDto), data as MessageDto);
    case 'MESSAGE_UPDATE':
      return editMessage(messageMemberSeen(s, data as MessageDto), data as MessageDto);
    case 'MESSAGE_DELETE': {
      const d = data as { id: string; channel_id: string };
      return deleteMessage(s, d.channel_id, d.id);
    }
    case 'MESSAGE_DELETE_BULK': {
      const d = data as { ids: string[]; channel_id: string };
      return d.ids.reduce((state, id) => deleteMessage(state, d.channel_id, id), s);
    }
    case 'MESSAGE_REACTION_ADD':
    case 'MESSAGE_REACTION_REMOVE': {
      const d = data as { user_id: string; channel_id: string; message_id: string; emoji: ReactionEmojiDto };
      const delta = type === 'MESSAGE_REACTION_ADD' ? 1 : -1;
      return react(s, d.channel_id, d.message_id, d.emoji, delta, d.user_id === s.me?.id);
    }
    case 'MESSAGE_ACK': {
      const d = data as { channel_id: string; message_id: string; mention_count: number };
      return acknowledged(s, d.channel_id, d.message_id, d.mention_count);
    }
    case 'USER_GUILD_SETTINGS_UPDATE': {
      const d = data as UserGuildSettingsDto;
      return { ...s, guildSettings: { ...s.guildSettings, [d.guild_id]: d } };
    }
    case 'TYPING_START': {
      const d = data as { channel_id: string; user_id: string; member?: MemberDto };
      return typingStarted(s, d.channel_id, d.user_id, d.member);
    }
    case 'PRESENCE_UPDATE':
      return presenceUpdated(s, data as PresenceData);
    case 'GUILD_CREATE':
      return addGuild(s, data as GuildFullDto);
    case 'GUILD_UPDATE':
      return updateGuild(s, data as GuildDto);
    case 'GUILD_EMOJIS_UPDATE': {
      const d = data as { guild_id: string; emojis: EmojiDto[] };
      return guildEmojisUpdated(s, d.guild_id, d.emojis);
    }
    case 'VOICE_STATE_UPDATE':
      return voiceStateUpdated(s, data as VoiceStateDto);
    case 'GUILD_DELETE':
      return removedFromGuild(s, (data as { id: string }).id);
    case 'GUILD_MEMBER_ADD':
    case 'GUILD_MEMBER_UPDATE':
      return setMember(s, data as MemberDto);
    case 'GUILD_MEMBER_REMOVE': {
      const d = data as { guild_id: string; user: PublicUser };
      return removeMember(s, d.guild_id, d.user);
    }
    case 'CHANNEL_CREATE':
    case 'CHANNEL_UPDATE':
      return upsertChannel(s, data as ChannelDto);
    case 'CHANNEL_DELETE':
      return removeChannel(s, data as ChannelDto);
    case 'GUILD_ROLE_CREATE':
    case 'GUILD_ROLE_UPDATE': {
      const d = data as { guild_id: string; role: RoleDto };
      return upsertRole(s, d.guild_id, d.role);
    }
    case 'GUILD_ROLE_DELETE': {
      const d = data as { guild_id: string; role_id: string };
      return removeRole(s, d.guild_id, d.role_id);
    }
    case 'USER_UPDATE': {
      const me = data as SelfUser;
      return { ...s, me, users: withUsers(s.users, [me]) };
    }
  }
}
