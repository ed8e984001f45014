import type {
  ChannelDto,
  GuildFullDto,
  MemberDto,
  MessageDto,
  PublicUser,
  ReadStateDto,
  SelfUser,
  UserGuildSettingsDto,
} from '@parley/common/protocol';
import type { ConnectionState } from '../gateway';

/** Discord's voice state (libs/voice publishes it as VOICE_STATE_UPDATE; channel_id null = left). */
export interface VoiceStateDto {
  guild_id: string | null;
  channel_id: string | null;
  user_id: string;
  session_id: string;
  deaf: boolean;
  mute: boolean;
  self_deaf: boolean;
  self_mute: boolean;
  suppress: boolean;
}

export interface VoiceSession {
  channelId: string;
  guildId: string | undefined;
  status: 'connecting' | 'connected' | 'failed';
  muted: boolean;
  deafened: boolean;
  /** Why joining failed, or a note (e.g. no microphone: listening only). */
  message: string | null;
}

export interface ClientMessage extends MessageDto {
  /** Set on optimistic messages until the server answers: they carry a nonce and a temporary id. */
  pending?: 'sending' | 'failed';
  failure?: string;
}

export interface ChannelMessages {
  /** Oldest first. Pending sends come after every confirmed message. */
  items: ClientMessage[];
  hasMore: boolean;
  /**
   * The items stop short of the present: history opened at an older message (a search hit, a message link).
   * Newer pages load as the reader scrolls down; live messages are not added until the gap closes.
   */
  newerGap: boolean;
  loading: boolean;
  loaded: boolean;
  error: string | null;
}

/** One typing indicator. */
export interface Typing {
  /** When it ends (ms). */
  until: number;
  /** The guild member TYPING_START carried (Discord's `member`): names them where the member list is not loaded. */
  member?: MemberDto;
}

export type PresenceStatus = 'online' | 'idle' | 'dnd' | 'offline' | 'invisible';

export interface State {
  me: SelfUser | null;
  connection: ConnectionState | 'idle';
  /** True once the first READY arrived for this sign-in. */
  synced: boolean;
  ownStatus: PresenceStatus;
  guilds: Record<string, GuildFullDto>;
  guildOrder: string[];
  /** Per guild, once loaded: user id -> member. */
  members: Record<string, Record<string, MemberDto>>;
  dms: Record<string, ChannelDto>;
  readStates: Record<string, ReadStateDto>;
  /** Guild id -> the user's notification settings there (absent: the defaults). */
  guildSettings: Record<string, UserGuildSettingsDto>;
  messages: Record<string, ChannelMessages>;
  /** Channel id -> user id -> who is typing, until when. */
  typing: Record<string, Record<string, Typing>>;
  presence: Record<string, PresenceStatus>;
  users: Record<string, PublicUser>;
  /** The channel on screen, so messages arriving there do not count as unread. */
  viewing: string | null;
  /** The message whose editor is open (one at a time; Up-arrow in an empty composer opens your last). */
  editing: string | null;
  /** Channel id -> the message the next send replies to. */
  replyTo: Record<string, ClientMessage>;
  /** Voice channel id -> user id -> their voice state, from VOICE_STATE_UPDATE. */
  voice: Record<string, Record<string, VoiceStateDto>>;
  /** This browser's own voice connection, if any. */
  voiceSession: VoiceSession | null;
  /** Something the person must be told once (e.g. removed from a guild); dismissed by them. */
  notice: string | null;
  /** Users the person has blocked: their messages are hidden behind a click. */
  blocked: Record<string, true>;
}

export const initialState: State = {
  me: null,
  connection: 'idle',
  synced: false,
  ownStatus: 'online',
  guilds: {},
  guildOrder: [],
  members: {},
  dms: {},
  readStates: {},
  guildSettings: {},
  messages: {},
  typing: {},
  presence: {},
  users: {},
  viewing: null,
  editing: null,
  replyTo: {},
  voice: {},
  notice: null,
  voiceSession: null,
  blocked: {},
};

export const emptyMessages: ChannelMessages = {
  items: [],
  hasMore: true,
  newerGap: false,
  loading: false,
  loaded: false,
  error: null,
};
