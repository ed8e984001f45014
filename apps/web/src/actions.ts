import type {
  ChannelDto,
  EmojiDto,
  GuildFullDto,
  MemberDto,
  MessageDto,
  ReactionEmojiDto,
  SelfUser,
} from '@parley/common/protocol';
import { notifyDesktop } from './desktop';
import { clearDrafts } from './drafts';
import { Api, ApiError, type AuthReply, type MfaReply } from './api';
import { GatewayClient } from './gateway';
import { navigate } from './router';
import {
  addGuild,
  addPending,
  applyDispatch,
  confirmSent,
  dropPending,
  expireTyping,
  findChannel,
  getState,
  historyFailed,
  historyLoaded,
  isUnread,
  historyReplaced,
  markRead,
  newerLoaded,
  reactLocally,
  resetState,
  setMembers,
  setPendingState,
  startLoading,
  update,
  type ClientMessage,
  type PresenceStatus,
} from './store';
import { encodeCustomEmoji, encodeMentions, makeNonce, newerThan } from './text';

const TOKEN_KEY = 'parley.token';
const PAGE = 50;
/** Messages loaded around a jumped-to message (about half on each side). */
const AROUND = 50;

export const api = new Api(localStorage.getItem(TOKEN_KEY));
let gateway: GatewayClient | null = null;
let typingTimer: ReturnType<typeof setInterval> | null = null;

export function signedIn(): boolean {
  return api.token !== null;
}

/** CHANNEL_PINS_UPDATE, for an open pins panel to reload (pins are not kept in the store). */
export const pinUpdates = new EventTarget();

/** GUILD_MEMBER_LIST_UPDATE, for the member pane (lists are kept by the pane, not in the store). */
export const memberListUpdates = new EventTarget();

/** Asks for typing in a guild (a large guild sends it only to sessions that ask: docs/gateway.md). */
export function subscribeTyping(guildId: string, on: boolean): Promise<boolean> {
  return gateway ? gateway.subscribeTyping(guildId, on) : Promise.resolve(false);
}

/** Subscribes to the rows of a channel's member list the pane shows (null: none any more). */
export function subscribeMembers(
  guildId: string,
  channelId: string | null,
  ranges: Array<[number, number]>,
): Promise<boolean> {
  return gateway ? gateway.subscribeMembers(guildId, channelId, ranges) : Promise.resolve(false);
}

/** Opens the gateway for the stored token (page load, or right after logging in). */
export function connect(): void {
  if (!api.token || gateway) return;
  gateway = new GatewayClient(api.token, {
    dispatch: (type, d) => {
      update((s) => applyDispatch(s, type, d));
      if (type === 'MESSAGE_CREATE') notifyDesktop(getState(), d as MessageDto);
      if (type === 'GUILD_MEMBER_LIST_UPDATE')
        memberListUpdates.dispatchEvent(new CustomEvent('update', { detail: d }));
      if (type === 'CHANNEL_PINS_UPDATE')
        pinUpdates.dispatchEvent(
          new CustomEvent('pins', { detail: (d as { channel_id: string }).channel_id }),
        );
    },
    state: (connection) => update((s) => (s.connection === connection ? s : { ...s, connection })),
    unauthorized: () => void signOut(false),
  });
  gateway.start();
  void loadBlocked();
  typingTimer ??= setInterval(() => update((s) => expireTyping(s, Date.now())), 1000);
}

/** The people the signed-in user has blocked (their messages are hidden behind a click). */
export async function loadBlocked(): Promise<void> {
  try {
    const list = await api.relationships();
    const blocked: Record<string, true> = {};
    for (const r of list) if (r.type === 2) blocked[r.id] = true;
    update((s) => ({ ...s, blocked }));
  } catch {
    // Not fatal: messages simply show until the next load.
  }
}

export function reconnect(): void {
  gateway?.reconnect();
}

function signedInWith(reply: AuthReply): SelfUser {
  localStorage.setItem(TOKEN_KEY, reply.token);
  api.token = reply.token;
  update((s) => ({ ...s, me: reply.user }));
  connect();
  return reply.user;
}

/** Signs in with a token the server handed over otherwise (single sign-on's callback, in the URL fragment). */
export async function signInWithToken(token: string): Promise<SelfUser> {
  const probe = new Api(token);
  return signedInWith({ token, user: await probe.me() });
}

/** Links a single sign-on identity to an existing account with its password; signs in (or the 2FA ticket). */
export async function linkOidc(ticket: string, password: string): Promise<SelfUser | MfaReply> {
  const reply = await new Api().oidcLink(ticket, password);
  return reply.token === null ? reply : signedInWith(reply);
}

/** Deletes the account for good; this browser forgets it. */
export async function deleteAccount(password: string, code: string | null): Promise<void> {
  await api.deleteMe(password, code);
  await signOut(false);
}

/** Signs in, or answers the ticket when the account asks for a second factor. */
export async function logIn(login: string, password: string): Promise<SelfUser | MfaReply> {
  const reply = await new Api().login(login, password);
  return reply.token === null ? reply : signedInWith(reply);
}

/** The second step of a login (or of a reset) with two-factor authentication. */
export async function finishMfa(ticket: string, code: string): Promise<SelfUser> {
  return signedInWith(await new Api().mfaLogin(ticket, code));
}

/** Sets a new password from a mailed link; signs in, or answers the ticket with 2FA on. */
export async function resetPassword(token: string, password: string): Promise<SelfUser | MfaReply> {
  // Every session ends with a reset, this browser's included.
  forgetSession();
  const reply = await new Api().reset(token, password);
  return reply.token === null ? reply : signedInWith(reply);
}

/** Register's outcome with email verification required: a link to finish it is on its way. */
export class RegistrationMailed extends Error {
  constructor(email: string) {
    super(`Check your inbox: we sent a link to ${email}. Open it to finish creating your account.`);
  }
}

/** Uses a mailed verification link: verifies the address, or (a registration's link) makes the account. */
export async function verifyAddress(token: string): Promise<'verified' | 'registered' | 'pending'> {
  const reply = await new Api().verifyEmail(token);
  if (!reply) return 'verified';
  if (reply.token === null) return 'pending';
  signedInWith(reply);
  return 'registered';
}

/** `invite`: the invite link this registration came through (needed where registration is invite-only). */
export async function register(
  username: string,
  email: string,
  password: string,
  invite: string | null = null,
): Promise<SelfUser> {
  const reply = await new Api().register(username, email, password, invite);
  if ('verification_pending' in reply) throw new RegistrationMailed(email);
  if (reply.token === null)
    throw new Error(
      'Your account was created and is waiting for an administrator to approve it. You can log in once it is approved.',
    );
  return signedInWith(reply);
}

/** Logs out (revoking the token unless the server already did) and forgets everything local. */
export async function signOut(revoke = true): Promise<void> {
  // Loaded lazily: voice.ts imports this module.
  void import('./voice').then((v) => v.leaveVoice());
  gateway?.stop();
  gateway = null;
  if (typingTimer) clearInterval(typingTimer);
  typingTimer = null;
  if (revoke) await api.logout().catch(() => undefined);
  forgetSession();
  navigate('/login');
}

function forgetSession(): void {
  gateway?.stop();
  gateway = null;
  api.token = null;
  localStorage.removeItem(TOKEN_KEY);
  clearDrafts();
  resetState();
}

export async function setStatus(status: Exclude<PresenceStatus, 'offline'>): Promise<void> {
  await gateway?.setStatus(status);
}

// --- history ---------------------------------------------------------------------------------

export async function loadLatest(channelId: string): Promise<void> {
  const cm = getState().messages[channelId];
  if (cm?.loading) return;
  update((s) => startLoading(s, channelId));
  try {
    const page = await api.history(channelId, PAGE);
    update((s) => historyLoaded(s, channelId, page, PAGE, false));
  } catch (err) {
    update((s) => historyFailed(s, channelId, err instanceof ApiError ? err.message : String(err)));
  }
}

export async function loadOlder(channelId: string): Promise<void> {
  const cm = getState().messages[channelId];
  if (!cm || cm.loading || !cm.hasMore || !cm.loaded) return;
  const oldest = cm.items.find((m) => !m.pending);
  if (!oldest) return;
  update((s) => startLoading(s, channelId));
  try {
    const page = await api.history(channelId, PAGE, oldest.id);
    update((s) => historyLoaded(s, channelId, page, PAGE, true));
  } catch (err) {
    update((s) => historyFailed(s, channelId, err instanceof ApiError ? err.message : String(err)));
  }
}

/**
 * Opens a channel's history at one message (a search hit, a message link): the page around it replaces
 * what was loaded unless the message is already there. Newer pages follow as the reader scrolls down.
 */
export async function jumpTo(channelId: string, messageId: string): Promise<void> {
  const cm = getState().messages[channelId];
  if (cm?.loaded && cm.items.some((m) => !m.pending && m.id === messageId)) return;
  update((s) => startLoading(s, channelId));
  try {
    const page = await api.around(channelId, messageId, AROUND);
    update((s) => historyReplaced(s, channelId, page, false));
  } catch (err) {
    update((s) => historyFailed(s, channelId, err instanceof ApiError ? err.message : String(err)));
  }
}

/** The next page after the newest loaded message, while the loaded history stops short of the present. */
export async function loadNewer(channelId: string): Promise<void> {
  const cm = getState().messages[channelId];
  if (!cm || cm.loading || !cm.newerGap) return;
  const newest = cm.items.filter((m) => !m.pending).at(-1);
  if (!newest) return;
  update((s) => startLoading(s, channelId));
  try {
    const page = await api.newer(channelId, newest.id, PAGE);
    update((s) => newerLoaded(s, channelId, page, PAGE));
  } catch (err) {
    update((s) => historyFailed(s, channelId, err instanceof ApiError ? err.message : String(err)));
  }
}

/** Back to the latest messages from an opened past ("Jump to present"). */
export async function loadPresent(channelId: string): Promise<void> {
  update((s) => startLoading(s, channelId));
  try {
    const page = await api.history(channelId, PAGE);
    update((s) => historyReplaced(s, channelId, page, true));
  } catch (err) {
    update((s) => historyFailed(s, channelId, err instanceof ApiError ? err.message : String(err)));
  }
}

// --- sending -----------------------------------------------------------------------------------

function mentionables(channelId: string) {
  const s = getState();
  const channel = findChannel(s, channelId);
  if (!channel) return [];
  if (!channel.guild_id) return channel.recipients ?? [];
  return Object.values(s.members[channel.guild_id] ?? {}).map((m) => m.user);
}

/** The custom emoji that `:name:` may name in a channel: its guild's (none in DMs). */
export function usableEmoji(channelId: string): EmojiDto[] {
  const s = getState();
  const guildId = findChannel(s, channelId)?.guild_id;
  return guildId ? (s.guilds[guildId]?.emojis ?? []) : [];
}

/** Files waiting to be sent with a message, by nonce: kept until the server has the message (for retries). */
interface Outgoing {
  files: File[];
  uploaded: Map<File, string>;
  previews: string[];
}
const outgoing = new Map<string, Outgoing>();

/** Shows the message at once, then reconciles it with the server's copy by `nonce`. */
export function sendMessage(
  channelId: string,
  text: string,
  files: File[] = [],
  replyTo: ClientMessage | null = null,
): void {
  const s = getState();
  const me = s.me;
  if (!me) return;
  const content = encodeCustomEmoji(encodeMentions(text, mentionables(channelId)), usableEmoji(channelId));
  const nonce = makeNonce();
  const channel = findChannel(s, channelId);
  // Sent from an opened past: the view goes back to the present, where the new message will show.
  if (s.messages[channelId]?.newerGap) void loadPresent(channelId);
  const previews = files.map((f) => (f.type.startsWith('image/') ? URL.createObjectURL(f) : ''));
  if (files.length > 0) outgoing.set(nonce, { files, uploaded: new Map(), previews });
  update((st) =>
    addPending(st, {
      id: `pending-${nonce}`,
      channel_id: channelId,
      guild_id: channel?.guild_id,
      author: { id: me.id, username: me.username, display_name: me.display_name, avatar: me.avatar },
      content,
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      attachments: files.map((f, i) => ({
        id: `local-${i}`,
        filename: f.name,
        size: f.size,
        content_type: f.type || 'application/octet-stream',
        url: previews[i],
      })),
      mentions: [],
      mention_roles: [],
      mention_everyone: false,
      embeds: [],
      flags: 0,
      nonce,
      pinned: false,
      type: replyTo ? 19 : 0,
      ...(replyTo && {
        message_reference: { type: 0 as const, message_id: replyTo.id, channel_id: channelId },
        referenced_message: replyTo,
      }),
      pending: 'sending',
    }),
  );
  deliver(channelId, content, nonce, replyTo?.id);
}

/** Sends wait for the previous send to the same channel, so a rate-limited one does not reorder them. */
const queues = new Map<string, Promise<void>>();
const MAX_RATE_LIMITED_TRIES = 5;

function deliver(channelId: string, content: string, nonce: string, replyTo?: string): void {
  const previous = queues.get(channelId) ?? Promise.resolve();
  const next = previous.then(() => deliverNow(channelId, content, nonce, replyTo));
  queues.set(channelId, next);
  void next.then(() => {
    if (queues.get(channelId) === next) queues.delete(channelId);
  });
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function deliverNow(
  channelId: string,
  content: string,
  nonce: string,
  replyTo: string | undefined,
  tries = 1,
): Promise<void> {
  try {
    const out = outgoing.get(nonce);
    const ids: string[] = [];
    for (const file of out?.files ?? []) {
      // Files already uploaded by an earlier try are not sent again.
      let id = out?.uploaded.get(file);
      if (!id) {
        id = (await api.upload(channelId, file)).id;
        out?.uploaded.set(file, id);
      }
      ids.push(id);
    }
    const message = await api.send(channelId, content, nonce, ids, replyTo);
    update((s) => confirmSent(s, { ...message, nonce: message.nonce ?? nonce }));
    // Our own message is read: tell the server too, or the channel looks unread after a reload or elsewhere.
    if (getState().readStates[channelId]?.last_message_id === message.id) ackOnServer(channelId, message.id);
    if (out) {
      out.previews.forEach((url) => url && URL.revokeObjectURL(url));
      outgoing.delete(nonce);
    }
  } catch (err) {
    // Rate limited: wait as long as the server says and try again by itself (still shown as sending).
    if (err instanceof ApiError && err.status === 429 && tries < MAX_RATE_LIMITED_TRIES) {
      await pause(Math.max(0.05, err.retryAfter ?? 1) * 1000);
      if (!getState().messages[channelId]?.items.some((m) => m.pending && m.nonce === nonce)) return;
      return deliverNow(channelId, content, nonce, replyTo, tries + 1);
    }
    const why = err instanceof ApiError ? err.message : 'Could not send';
    update((s) => setPendingState(s, channelId, nonce, why));
  }
}

export function retrySend(channelId: string, nonce: string): void {
  const m = getState().messages[channelId]?.items.find((x) => x.pending && x.nonce === nonce);
  if (!m) return;
  update((s) => setPendingState(s, channelId, nonce, null));
  deliver(channelId, m.content, nonce, m.message_reference?.message_id);
}

export function discardFailed(channelId: string, nonce: string): void {
  outgoing.get(nonce)?.previews.forEach((url) => url && URL.revokeObjectURL(url));
  outgoing.delete(nonce);
  update((s) => dropPending(s, channelId, nonce));
}

export async function editMessage(m: MessageDto, content: string): Promise<void> {
  const edited = await api.edit(
    m.channel_id,
    m.id,
    encodeCustomEmoji(encodeMentions(content, mentionables(m.channel_id)), usableEmoji(m.channel_id)),
  );
  update((s) => applyDispatch(s, 'MESSAGE_UPDATE', edited));
}

/** Deletes several messages at once (moderators): one bulk request, or a plain delete for a single one. */
export async function deleteMessages(channelId: string, ids: string[]): Promise<void> {
  if (ids.length === 1) await api.deleteMessage(channelId, ids[0]);
  else await api.bulkDelete(channelId, ids);
  update((s) => applyDispatch(s, 'MESSAGE_DELETE_BULK', { ids, channel_id: channelId }));
}

export function setReplyTo(channelId: string, m: ClientMessage | null): void {
  update((s) => {
    const replyTo = { ...s.replyTo };
    if (m) replyTo[channelId] = m;
    else delete replyTo[channelId];
    return { ...s, replyTo };
  });
}

export function setEditing(messageId: string | null): void {
  update((s) => (s.editing === messageId ? s : { ...s, editing: messageId }));
}

/** Up-arrow in an empty composer: edit your newest message in the channel, if it is loaded. */
export function editLastOwn(channelId: string): boolean {
  const s = getState();
  const items = s.messages[channelId]?.items ?? [];
  for (let i = items.length - 1; i >= 0; i--) {
    if (!items[i].pending && items[i].author.id === s.me?.id) {
      setEditing(items[i].id);
      return true;
    }
  }
  return false;
}

/**
 * Scrolls to a message (a reply's original) and highlights it, loading older history until it is there (at most
 * 20 pages: an original further back than that is not worth pulling the whole channel in for).
 */
export async function jumpToMessage(channelId: string, messageId: string): Promise<boolean> {
  for (let page = 0; page < 20; page++) {
    const cm = getState().messages[channelId];
    if (cm?.items.some((m) => m.id === messageId)) break;
    if (!cm || (!cm.hasMore && !cm.loading)) return false;
    // A page already on its way: wait for it instead of asking again.
    if (cm.loading) await new Promise((resolve) => setTimeout(resolve, 100));
    else await loadOlder(channelId);
  }
  // The list renders the loaded page on the next frame.
  await new Promise((resolve) => requestAnimationFrame(resolve));
  const el = document.querySelector<HTMLElement>(`article[data-message-id="${CSS.escape(messageId)}"]`);
  if (!el) return false;
  el.scrollIntoView({ block: 'center' });
  el.focus({ preventScroll: true });
  el.classList.add('flash');
  setTimeout(() => el.classList.remove('flash'), 1600);
  return true;
}

export function dismissNotice(): void {
  update((s) => (s.notice === null ? s : { ...s, notice: null }));
}

export async function deleteMessage(m: MessageDto): Promise<void> {
  await api.deleteMessage(m.channel_id, m.id);
  update((s) => applyDispatch(s, 'MESSAGE_DELETE', { id: m.id, channel_id: m.channel_id }));
}

export async function toggleReaction(m: MessageDto, emoji: ReactionEmojiDto, on: boolean): Promise<void> {
  update((s) => reactLocally(s, m.channel_id, m.id, emoji, on));
  try {
    await api.react(m.channel_id, m.id, emoji, on);
  } catch (err) {
    update((s) => reactLocally(s, m.channel_id, m.id, emoji, !on));
    throw err;
  }
}

const lastTyping = new Map<string, number>();
/** Tells others we are typing; renewals closer than 5 s change nothing on the server, so skip them. */
export function typing(channelId: string): void {
  const now = Date.now();
  if (now - (lastTyping.get(channelId) ?? 0) < 6000) return;
  lastTyping.set(channelId, now);
  api.typing(channelId).catch(() => lastTyping.delete(channelId));
}

export function stoppedTyping(channelId: string): void {
  lastTyping.delete(channelId);
}

const acking = new Map<string, ReturnType<typeof setTimeout>>();
/** Marks the channel read up to its newest message (debounced: a busy channel acks once in a while). */
export function ackLatest(channelId: string): void {
  const s = getState();
  const items = s.messages[channelId]?.items ?? [];
  let latest: string | null = null;
  for (let i = items.length - 1; i >= 0; i--) {
    if (!items[i].pending) {
      latest = items[i].id;
      break;
    }
  }
  const channel = findChannel(s, channelId);
  if (channel?.last_message_id && newerThan(channel.last_message_id, latest))
    latest = channel.last_message_id;
  if (!latest) return;
  const rs = s.readStates[channelId];
  if (rs && !newerThan(latest, rs.last_message_id) && rs.mention_count === 0) return;
  const id = latest;
  update((st) => markRead(st, channelId, id));
  ackOnServer(channelId, id);
}

/** Records the read position on the server, debounced per channel (the newest call wins). */
function ackOnServer(channelId: string, id: string): void {
  if (acking.has(channelId)) clearTimeout(acking.get(channelId));
  acking.set(
    channelId,
    setTimeout(() => {
      acking.delete(channelId);
      api.ack(channelId, id).catch(() => undefined);
    }, 400),
  );
}

// --- guilds, members, DMs -----------------------------------------------------------------------

const loadingMembers = new Set<string>();
export async function loadMembers(guildId: string, force = false): Promise<void> {
  if (loadingMembers.has(guildId) || (!force && getState().members[guildId])) return;
  loadingMembers.add(guildId);
  try {
    const all: MemberDto[] = [];
    let after: string | undefined;
    for (let page = 0; page < 10; page++) {
      const batch = await api.members(guildId, after);
      all.push(...batch);
      if (batch.length < 1000) break;
      after = batch[batch.length - 1].user.id;
    }
    update((s) => setMembers(s, guildId, all));
  } finally {
    loadingMembers.delete(guildId);
  }
}

export async function createGuild(name: string): Promise<GuildFullDto> {
  const guild = await api.createGuild(name);
  update((s) => addGuild(s, guild));
  return guild;
}

export function firstTextChannel(guild: GuildFullDto): ChannelDto | undefined {
  return guild.channels.find((c) => c.type === 0);
}

/** Joins by invite code and opens the channel the invite points at. */
export async function acceptInvite(code: string): Promise<void> {
  const invite = await api.acceptInvite(code);
  // GUILD_CREATE is on its way over the gateway; fetching it too means the guild opens without waiting.
  const guild = await api.guild(invite.guild.id).catch(() => null);
  if (guild) update((s) => addGuild(s, guild));
  navigate(`/channels/${invite.guild.id}/${invite.channel.id}`, true);
}

export async function openDm(userId: string): Promise<void> {
  const channel = await api.openDm(userId);
  update((s) => applyDispatch(s, 'CHANNEL_CREATE', channel));
  navigate(`/channels/@me/${channel.id}`);
}

const LAST_CHANNEL_KEY = 'parley.last-channel';

/** Remembers the channel on screen (per person), so logging in again reopens it. */
export function rememberChannel(path: string): void {
  const me = getState().me;
  if (me) localStorage.setItem(`${LAST_CHANNEL_KEY}.${me.id}`, path);
}

export function lastChannel(): string | null {
  const me = getState().me;
  const path = me ? localStorage.getItem(`${LAST_CHANNEL_KEY}.${me.id}`) : null;
  return path && path.startsWith('/channels/') ? path : null;
}

export function setViewing(channelId: string | null): void {
  update((s) => (s.viewing === channelId ? s : { ...s, viewing: channelId }));
}

/** Changes the user's notification settings in a guild; the answer is applied at once (the event follows). */
export async function updateGuildSettings(guildId: string, patch: Record<string, unknown>): Promise<void> {
  const settings = await api.updateGuildSettings(guildId, patch);
  update((s) => ({ ...s, guildSettings: { ...s.guildSettings, [guildId]: settings } }));
}

/** Marks every text channel of a guild read up to its newest message. */
export function markGuildRead(guildId: string): void {
  const s = getState();
  for (const c of s.guilds[guildId]?.channels ?? [])
    if (c.type === 0 && (isUnread(s, c) || (s.readStates[c.id]?.mention_count ?? 0) > 0)) ackLatest(c.id);
}
