import type {
  ChannelDto,
  DispatchType,
  GuildDto,
  GuildFullDto,
  MemberDto,
  MessageDto,
  PublicUser,
  ReadStateDto,
  RoleDto,
  SelfUser,
} from '@parley/common/protocol';
import { useSyncExternalStore } from 'react';
import type { ConnectionState } from './gateway';
import { compareIds, mentionsUser, newerThan } from './text';

export interface ClientMessage extends MessageDto {
  /** Set on optimistic messages until the server answers: they carry a nonce and a temporary id. */
  pending?: 'sending' | 'failed';
  failure?: string;
}

export interface ChannelMessages {
  /** Oldest first. Pending sends come after every confirmed message. */
  items: ClientMessage[];
  hasMore: boolean;
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
  messages: {},
  typing: {},
  presence: {},
  users: {},
  viewing: null,
};

let state: State = initialState;
const listeners = new Set<() => void>();
let scheduled = false;

export function getState(): State {
  return state;
}

/** Applies an update; subscribers hear about it once per microtask, however many updates a replay brings. */
export function update(fn: (s: State) => State): void {
  const next = fn(state);
  if (next === state) return;
  state = next;
  if (scheduled) return;
  scheduled = true;
  queueMicrotask(() => {
    scheduled = false;
    for (const l of listeners) l();
  });
}

export function resetState(): void {
  update(() => initialState);
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Selects a slice; the selector must return something already in the state (no fresh arrays). */
export function useStore<T>(selector: (s: State) => T): T {
  return useSyncExternalStore(subscribe, () => selector(state));
}

// --- pure helpers ----------------------------------------------------------------------------

export const emptyMessages: ChannelMessages = {
  items: [],
  hasMore: true,
  loading: false,
  loaded: false,
  error: null,
};

export function findChannel(s: State, channelId: string): ChannelDto | undefined {
  if (s.dms[channelId]) return s.dms[channelId];
  for (const id of s.guildOrder) {
    const c = s.guilds[id]?.channels.find((ch) => ch.id === channelId);
    if (c) return c;
  }
  return undefined;
}

export function isUnread(s: State, channel: ChannelDto): boolean {
  if (!channel.last_message_id || channel.id === s.viewing) return false;
  return newerThan(channel.last_message_id, s.readStates[channel.id]?.last_message_id);
}

export function mentionCount(s: State, channelId: string): number {
  return s.readStates[channelId]?.mention_count ?? 0;
}

function withUsers(users: Record<string, PublicUser>, list: readonly (PublicUser | undefined)[]) {
  let out = users;
  for (const u of list) {
    if (!u) continue;
    const known = out[u.id];
    if (known && known.username === u.username && known.display_name === u.display_name) continue;
    if (out === users) out = { ...users };
    out[u.id] = { id: u.id, username: u.username, display_name: u.display_name, avatar: u.avatar };
  }
  return out;
}

function byPosition(a: ChannelDto, b: ChannelDto): number {
  return (a.position ?? 0) - (b.position ?? 0) || compareIds(a.id, b.id);
}

function setGuildChannels(s: State, guildId: string, fn: (channels: ChannelDto[]) => ChannelDto[]): State {
  const guild = s.guilds[guildId];
  if (!guild) return s;
  return {
    ...s,
    guilds: { ...s.guilds, [guildId]: { ...guild, channels: fn(guild.channels).sort(byPosition) } },
  };
}

function setLastMessage(s: State, channelId: string, guildId: string | undefined, messageId: string): State {
  if (!guildId) {
    const dm = s.dms[channelId];
    if (!dm || !newerThan(messageId, dm.last_message_id)) return s;
    return { ...s, dms: { ...s.dms, [channelId]: { ...dm, last_message_id: messageId } } };
  }
  return setGuildChannels(s, guildId, (channels) =>
    channels.map((c) =>
      c.id === channelId && newerThan(messageId, c.last_message_id)
        ? { ...c, last_message_id: messageId }
        : c,
    ),
  );
}

function setMessages(s: State, channelId: string, fn: (m: ChannelMessages) => ChannelMessages): State {
  const current = s.messages[channelId];
  if (!current) return s;
  const next = fn(current);
  if (next === current) return s;
  return { ...s, messages: { ...s.messages, [channelId]: next } };
}

/** Inserts confirmed messages in id order, replacing same ids and the optimistic copies their nonce names. */
export function mergeMessages(items: ClientMessage[], incoming: readonly MessageDto[]): ClientMessage[] {
  if (incoming.length === 0) return items;
  const nonces = new Set(incoming.map((m) => m.nonce).filter((n): n is string => !!n));
  const ids = new Set(incoming.map((m) => m.id));
  const kept = items.filter((m) => !ids.has(m.id) && !(m.pending && m.nonce && nonces.has(m.nonce)));
  const confirmed = kept.filter((m) => !m.pending);
  const pending = kept.filter((m) => m.pending);
  const merged = [...confirmed, ...incoming].sort((a, b) => compareIds(a.id, b.id));
  return [...merged, ...pending];
}

function applyReaction(m: ClientMessage, emoji: string, delta: 1 | -1, mine: boolean): ClientMessage {
  const reactions = [...(m.reactions ?? [])];
  const i = reactions.findIndex((r) => r.emoji.name === emoji);
  const current = i >= 0 ? reactions[i] : { emoji: { name: emoji }, count: 0, me: false };
  // Our own reaction may already be shown (optimistically): the echo from the gateway must not count twice.
  if (mine && (delta === 1 ? current.me : !current.me)) return m;
  const next = { ...current, count: current.count + delta, me: mine ? delta === 1 : current.me };
  if (next.count <= 0) {
    if (i >= 0) reactions.splice(i, 1);
  } else if (i >= 0) reactions[i] = next;
  else reactions.push(next);
  return { ...m, reactions };
}

export function reactLocally(
  s: State,
  channelId: string,
  messageId: string,
  emoji: string,
  on: boolean,
): State {
  return setMessages(s, channelId, (cm) => ({
    ...cm,
    items: cm.items.map((m) => (m.id === messageId ? applyReaction(m, emoji, on ? 1 : -1, true) : m)),
  }));
}

// --- gateway dispatches ------------------------------------------------------------------------

interface ReadyData {
  user: SelfUser;
  guilds: (GuildFullDto & { presences?: PresenceData[]; members?: MemberDto[] })[];
  private_channels: ChannelDto[];
  read_states: ReadStateDto[];
  /** Guild-mates who are not offline when the session starts (docs/gateway.md); the rest are offline. */
  presences?: PresenceData[];
}

interface PresenceData {
  user: { id: string };
  guild_id?: string;
  status: PresenceStatus;
}

function presencesOf(guild: { presences?: PresenceData[] }): Record<string, PresenceStatus> {
  const out: Record<string, PresenceStatus> = {};
  for (const p of guild.presences ?? []) out[p.user.id] = p.status;
  return out;
}

function onReady(s: State, d: ReadyData): State {
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
  // A fresh session may have missed events: cached history is refetched when shown; unsent messages stay.
  const messages: Record<string, ChannelMessages> = {};
  for (const [id, cm] of Object.entries(s.messages)) {
    const pending = cm.items.filter((m) => m.pending);
    messages[id] = { ...emptyMessages, items: pending };
  }
  return {
    ...s,
    me: d.user,
    synced: true,
    guilds,
    guildOrder: d.guilds.map((g) => g.id),
    members: {},
    dms,
    readStates,
    messages,
    typing: {},
    presence: { ...presence, [d.user.id]: s.ownStatus === 'invisible' ? 'offline' : s.ownStatus },
    users: withUsers(
      s.users,
      d.private_channels.flatMap((c) => c.recipients ?? []),
    ),
  };
}

function onMessageCreate(s: State, m: MessageDto): State {
  let next = setMessages(s, m.channel_id, (cm) => ({ ...cm, items: mergeMessages(cm.items, [m]) }));
  next = setLastMessage(next, m.channel_id, m.guild_id, m.id);
  next = { ...next, users: withUsers(next.users, [m.author, ...m.mentions]) };
  const typing = next.typing[m.channel_id];
  if (typing?.[m.author.id]) {
    const rest = { ...typing };
    delete rest[m.author.id];
    next = { ...next, typing: { ...next.typing, [m.channel_id]: rest } };
  }
  const me = next.me;
  if (me && m.author.id === me.id) {
    // Our own message is read by definition.
    const rs = next.readStates[m.channel_id];
    if (newerThan(m.id, rs?.last_message_id))
      next = {
        ...next,
        readStates: {
          ...next.readStates,
          [m.channel_id]: { channel_id: m.channel_id, last_message_id: m.id, mention_count: 0 },
        },
      };
  } else if (me && next.viewing !== m.channel_id && mentionsUser(m, me.id)) {
    const rs = next.readStates[m.channel_id] ?? {
      channel_id: m.channel_id,
      last_message_id: null,
      mention_count: 0,
    };
    next = {
      ...next,
      readStates: { ...next.readStates, [m.channel_id]: { ...rs, mention_count: rs.mention_count + 1 } },
    };
  }
  return next;
}

function removeChannel(s: State, channel: ChannelDto): State {
  const messages = { ...s.messages };
  delete messages[channel.id];
  if (channel.guild_id) {
    return setGuildChannels({ ...s, messages }, channel.guild_id, (cs) =>
      cs.filter((c) => c.id !== channel.id),
    );
  }
  const dms = { ...s.dms };
  delete dms[channel.id];
  return { ...s, dms, messages };
}

function upsertChannel(s: State, channel: ChannelDto): State {
  if (channel.guild_id) {
    return setGuildChannels(s, channel.guild_id, (cs) => [...cs.filter((c) => c.id !== channel.id), channel]);
  }
  return {
    ...s,
    dms: { ...s.dms, [channel.id]: { ...s.dms[channel.id], ...channel } },
    users: withUsers(s.users, channel.recipients ?? []),
  };
}

function setMember(s: State, member: MemberDto): State {
  const members = s.members[member.guild_id];
  const users = withUsers(s.users, [member.user]);
  if (!members) return { ...s, users };
  return {
    ...s,
    users,
    members: { ...s.members, [member.guild_id]: { ...members, [member.user.id]: member } },
  };
}

function setRoles(s: State, guildId: string, fn: (roles: RoleDto[]) => RoleDto[]): State {
  const guild = s.guilds[guildId];
  if (!guild) return s;
  return { ...s, guilds: { ...s.guilds, [guildId]: { ...guild, roles: fn(guild.roles) } } };
}

export function addGuild(s: State, g: GuildFullDto & { presences?: PresenceData[] }): State {
  return {
    ...s,
    guilds: { ...s.guilds, [g.id]: { ...g, channels: [...g.channels].sort(byPosition) } },
    guildOrder: s.guildOrder.includes(g.id) ? s.guildOrder : [...s.guildOrder, g.id],
    presence: { ...s.presence, ...presencesOf(g) },
  };
}

function removeGuild(s: State, guildId: string): State {
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

/** Applies one gateway dispatch to the state. */
export function applyDispatch(s: State, type: DispatchType, data: unknown): State {
  switch (type) {
    case 'READY':
      return onReady(s, data as ReadyData);
    case 'RESUMED':
    case 'INVALID_SESSION':
    case 'CHANNEL_PINS_UPDATE':
    case 'VOICE_STATE_UPDATE':
    case 'GUILD_BAN_ADD':
    case 'GUILD_BAN_REMOVE':
      return s;
    case 'MESSAGE_CREATE':
      return onMessageCreate(s, data as MessageDto);
    case 'MESSAGE_UPDATE': {
      const m = data as MessageDto;
      return setMessages(s, m.channel_id, (cm) => ({
        ...cm,
        items: cm.items.map((x) => (x.id === m.id ? { ...x, ...m } : x)),
      }));
    }
    case 'MESSAGE_DELETE': {
      const d = data as { id: string; channel_id: string };
      return setMessages(s, d.channel_id, (cm) => ({ ...cm, items: cm.items.filter((x) => x.id !== d.id) }));
    }
    case 'MESSAGE_REACTION_ADD':
    case 'MESSAGE_REACTION_REMOVE': {
      const d = data as { user_id: string; channel_id: string; message_id: string; emoji: { name: string } };
      const mine = d.user_id === s.me?.id;
      const delta = type === 'MESSAGE_REACTION_ADD' ? 1 : -1;
      return setMessages(s, d.channel_id, (cm) => ({
        ...cm,
        items: cm.items.map((m) => (m.id === d.message_id ? applyReaction(m, d.emoji.name, delta, mine) : m)),
      }));
    }
    case 'MESSAGE_ACK': {
      const d = data as { channel_id: string; message_id: string; mention_count: number };
      const current = s.readStates[d.channel_id];
      if (current && newerThan(current.last_message_id, d.message_id)) return s;
      return {
        ...s,
        readStates: {
          ...s.readStates,
          [d.channel_id]: {
            channel_id: d.channel_id,
            last_message_id: d.message_id,
            mention_count: d.mention_count,
          },
        },
      };
    }
    case 'TYPING_START': {
      const d = data as { channel_id: string; user_id: string };
      if (d.user_id === s.me?.id) return s;
      return {
        ...s,
        typing: {
          ...s.typing,
          [d.channel_id]: { ...s.typing[d.channel_id], [d.user_id]: Date.now() + 10_000 },
        },
      };
    }
    case 'PRESENCE_UPDATE': {
      const d = data as PresenceData;
      if (d.user.id === s.me?.id && d.guild_id === undefined) {
        return {
          ...s,
          ownStatus: d.status,
          presence: { ...s.presence, [d.user.id]: d.status === 'invisible' ? 'offline' : d.status },
        };
      }
      if (d.user.id === s.me?.id) return s;
      return { ...s, presence: { ...s.presence, [d.user.id]: d.status } };
    }
    case 'GUILD_CREATE':
      return addGuild(s, data as GuildFullDto);
    case 'GUILD_UPDATE': {
      const g = data as GuildDto;
      const current = s.guilds[g.id];
      if (!current) return s;
      return {
        ...s,
        guilds: {
          ...s.guilds,
          [g.id]: { ...current, ...g, channels: current.channels, roles: current.roles },
        },
      };
    }
    case 'GUILD_DELETE':
      return removeGuild(s, (data as { id: string }).id);
    case 'GUILD_MEMBER_ADD':
    case 'GUILD_MEMBER_UPDATE':
      return setMember(s, data as MemberDto);
    case 'GUILD_MEMBER_REMOVE': {
      const d = data as { guild_id: string; user: PublicUser };
      const members = s.members[d.guild_id];
      if (!members?.[d.user.id]) return s;
      const rest = { ...members };
      delete rest[d.user.id];
      return { ...s, members: { ...s.members, [d.guild_id]: rest } };
    }
    case 'CHANNEL_CREATE':
    case 'CHANNEL_UPDATE':
      return upsertChannel(s, data as ChannelDto);
    case 'CHANNEL_DELETE':
      return removeChannel(s, data as ChannelDto);
    case 'GUILD_ROLE_CREATE':
    case 'GUILD_ROLE_UPDATE': {
      const d = data as { guild_id: string; role: RoleDto };
      return setRoles(s, d.guild_id, (roles) =>
        [...roles.filter((r) => r.id !== d.role.id), d.role].sort((a, b) => a.position - b.position),
      );
    }
    case 'GUILD_ROLE_DELETE': {
      const d = data as { guild_id: string; role_id: string };
      return setRoles(s, d.guild_id, (roles) => roles.filter((r) => r.id !== d.role_id));
    }
    case 'USER_UPDATE': {
      const me = data as SelfUser;
      return { ...s, me, users: withUsers(s.users, [me]) };
    }
  }
}

// --- local changes made by actions -----------------------------------------------------------------

export function startLoading(s: State, channelId: string): State {
  const cm = s.messages[channelId] ?? emptyMessages;
  return { ...s, messages: { ...s.messages, [channelId]: { ...cm, loading: true, error: null } } };
}

export function historyLoaded(
  s: State,
  channelId: string,
  page: MessageDto[],
  limit: number,
  older: boolean,
): State {
  const cm = s.messages[channelId] ?? emptyMessages;
  const items = mergeMessages(cm.items, page);
  const hasMore = older || !cm.loaded ? page.length >= limit : cm.hasMore;
  return {
    ...s,
    users: withUsers(
      s.users,
      page.flatMap((m) => [m.author, ...m.mentions]),
    ),
    messages: { ...s.messages, [channelId]: { items, hasMore, loading: false, loaded: true, error: null } },
  };
}

export function historyFailed(s: State, channelId: string, error: string): State {
  const cm = s.messages[channelId] ?? emptyMessages;
  return { ...s, messages: { ...s.messages, [channelId]: { ...cm, loading: false, error } } };
}

export function addPending(s: State, m: ClientMessage): State {
  const cm = s.messages[m.channel_id] ?? { ...emptyMessages };
  return {
    ...s,
    messages: {
      ...s.messages,
      [m.channel_id]: { ...cm, items: [...cm.items.filter((x) => x.nonce !== m.nonce || !x.pending), m] },
    },
  };
}

export function setPendingState(s: State, channelId: string, nonce: string, failure: string | null): State {
  return setMessages(s, channelId, (cm) => ({
    ...cm,
    items: cm.items.map((m) =>
      m.pending && m.nonce === nonce
        ? {
            ...m,
            pending: failure ? ('failed' as const) : ('sending' as const),
            failure: failure ?? undefined,
          }
        : m,
    ),
  }));
}

export function dropPending(s: State, channelId: string, nonce: string): State {
  return setMessages(s, channelId, (cm) => ({
    ...cm,
    items: cm.items.filter((m) => !(m.pending && m.nonce === nonce)),
  }));
}

export function confirmSent(s: State, m: MessageDto): State {
  return onMessageCreate(s, m);
}

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

export function markRead(s: State, channelId: string, messageId: string): State {
  const rs = s.readStates[channelId];
  if (rs && !newerThan(messageId, rs.last_message_id) && rs.mention_count === 0) return s;
  return {
    ...s,
    readStates: {
      ...s.readStates,
      [channelId]: { channel_id: channelId, last_message_id: messageId, mention_count: 0 },
    },
  };
}

export function expireTyping(s: State, now: number): State {
  let changed = false;
  const typing: State['typing'] = {};
  for (const [channelId, users] of Object.entries(s.typing)) {
    const alive: Record<string, number> = {};
    for (const [userId, until] of Object.entries(users)) {
      if (until > now) alive[userId] = until;
      else changed = true;
    }
    if (Object.keys(alive).length > 0) typing[channelId] = alive;
  }
  return changed ? { ...s, typing } : s;
}
