import type { MessageDto, ReactionEmojiDto } from '@parley/common/protocol';
import { sameEmoji } from '../emoji/custom';
import { compareIds, mentionsUser } from '../text';
import { setLastMessage } from './channels';
import { countMention, readOwnMessage } from './read-states';
import { emptyMessages, type ChannelMessages, type ClientMessage, type State } from './state';
import { typingStopped } from './typing';
import { withUsers } from './users';

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

/**
 * A new message (from the gateway, or the REST answer to our own send): shown, the channel's last message,
 * its author no longer typing, and either read (ours) or, when it mentions us elsewhere, one more mention.
 */
export function receiveMessage(s: State, m: MessageDto): State {
  // Behind a gap it would sit after messages never loaded: it is fetched with the pages that close the gap.
  let next = setMessages(s, m.channel_id, (cm) => ({
    ...cm,
    items: cm.newerGap
      ? cm.items.filter((x) => !(x.pending && m.nonce && x.nonce === m.nonce))
      : mergeMessages(cm.items, [m]),
  }));
  next = setLastMessage(next, m.channel_id, m.guild_id, m.id);
  next = { ...next, users: withUsers(next.users, [m.author, ...m.mentions]) };
  next = typingStopped(next, m.channel_id, m.author.id);
  const me = next.me;
  if (me && m.author.id === me.id) next = readOwnMessage(next, m.channel_id, m.id);
  else if (me && next.viewing !== m.channel_id && mentionsUser(m, me.id))
    next = countMention(next, m.channel_id);
  return next;
}

export function editMessage(s: State, m: MessageDto): State {
  return setMessages(s, m.channel_id, (cm) => ({
    ...cm,
    items: cm.items.map((x) => (x.id === m.id ? { ...x, ...m } : x)),
  }));
}

/** Removes a message; replies to it keep their reference but show the original as deleted (null). */
export function deleteMessage(s: State, channelId: string, messageId: string): State {
  return setMessages(s, channelId, (cm) => ({
    ...cm,
    items: cm.items
      .filter((x) => x.id !== messageId)
      .map((x) => (x.referenced_message?.id === messageId ? { ...x, referenced_message: null } : x)),
  }));
}

// --- reactions ---------------------------------------------------------------------------------

function applyReaction(
  m: ClientMessage,
  emoji: ReactionEmojiDto,
  delta: 1 | -1,
  mine: boolean,
): ClientMessage {
  const reactions = [...(m.reactions ?? [])];
  const i = reactions.findIndex((r) => sameEmoji(r.emoji, emoji));
  const current = i >= 0 ? reactions[i] : { emoji, count: 0, me: false };
  // Our own reaction may already be shown (optimistically): the echo from the gateway must not count twice.
  if (mine && (delta === 1 ? current.me : !current.me)) return m;
  const next = { ...current, count: current.count + delta, me: mine ? delta === 1 : current.me };
  if (next.count <= 0) {
    if (i >= 0) reactions.splice(i, 1);
  } else if (i >= 0) reactions[i] = next;
  else reactions.push(next);
  return { ...m, reactions };
}

/** A reaction added or removed by anyone, as the gateway reports it (custom emoji match by id). */
export function react(
  s: State,
  channelId: string,
  messageId: string,
  emoji: ReactionEmojiDto,
  delta: 1 | -1,
  mine: boolean,
): State {
  return setMessages(s, channelId, (cm) => ({
    ...cm,
    items: cm.items.map((m) => (m.id === messageId ? applyReaction(m, emoji, delta, mine) : m)),
  }));
}

/** Our own reaction, shown before the server confirms it. */
export function reactLocally(
  s: State,
  channelId: string,
  messageId: string,
  emoji: ReactionEmojiDto,
  on: boolean,
): State {
  return react(s, channelId, messageId, emoji, on ? 1 : -1, true);
}

// --- history -----------------------------------------------------------------------------------

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
    messages: {
      ...s.messages,
      [channelId]: { items, hasMore, newerGap: cm.newerGap, loading: false, loaded: true, error: null },
    },
  };
}

/**
 * History opened somewhere in the past (`around` a message), or the latest page that ends a jump: replaces
 * what was loaded (it may not join up with it), keeping unsent messages. `present`: the page is the latest.
 */
export function historyReplaced(s: State, channelId: string, page: MessageDto[], present: boolean): State {
  const cm = s.messages[channelId] ?? emptyMessages;
  const pending = cm.items.filter((m) => m.pending);
  return {
    ...s,
    users: withUsers(
      s.users,
      page.flatMap((m) => [m.author, ...m.mentions]),
    ),
    messages: {
      ...s.messages,
      [channelId]: {
        items: mergeMessages(pending, page),
        hasMore: true,
        newerGap: !present,
        loading: false,
        loaded: true,
        error: null,
      },
    },
  };
}

/** A page newer than the newest loaded message (closing a gap): the gap is closed when it comes back short. */
export function newerLoaded(s: State, channelId: string, page: MessageDto[], limit: number): State {
  const cm = s.messages[channelId] ?? emptyMessages;
  return {
    ...s,
    users: withUsers(
      s.users,
      page.flatMap((m) => [m.author, ...m.mentions]),
    ),
    messages: {
      ...s.messages,
      [channelId]: {
        ...cm,
        items: mergeMessages(cm.items, page),
        newerGap: page.length >= limit,
        loading: false,
        loaded: true,
        error: null,
      },
    },
  };
}

export function historyFailed(s: State, channelId: string, error: string): State {
  const cm = s.messages[channelId] ?? emptyMessages;
  return { ...s, messages: { ...s.messages, [channelId]: { ...cm, loading: false, error } } };
}

/** A fresh session may have missed events: cached history is refetched when shown; unsent messages stay. */
export function keepOnlyPending(messages: State['messages']): State['messages'] {
  const kept: State['messages'] = {};
  for (const [id, cm] of Object.entries(messages)) {
    const pending = cm.items.filter((m) => m.pending);
    kept[id] = { ...emptyMessages, items: pending };
  }
  return kept;
}

// --- optimistic sends ----------------------------------------------------------------------------

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

/** The REST answer to our send: the same as the gateway's MESSAGE_CREATE, whichever arrives first. */
export function confirmSent(s: State, m: MessageDto): State {
  return receiveMessage(s, m);
}
