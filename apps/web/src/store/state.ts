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
  /** Channel id -> user id -> when the indicator ends (ms). */
  typing: Record<string, Record<string, number>>;
  presence: Record<string, PresenceStatus>;
  users: Record<string, PublicUser>;
  /** The channel on screen, so messages arriving there do not count as unread. */
  viewing: string | null;
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
};

export const emptyMessages: ChannelMessages = {
  items: [],
  hasMore: true,
  newerGap: false,
  loading: false,
  loaded: false,
  error: null,
};
