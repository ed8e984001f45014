import type {
  AttachmentDto,
  BanDto,
  ChannelDto,
  EmojiDto,
  GuildDto,
  GuildFullDto,
  InviteDto,
  MemberDto,
  MessageDto,
  ReactionEmojiDto,
  PublicUser,
  ReadStateDto,
  RoleDto,
  SelfUser,
  UserGuildSettingsDto,
  WebhookDto,
} from '@parley/common/protocol';
import { emojiRoute } from './emoji/custom';

/** An error answer of the REST API (`{code, message, errors?}`), or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly fields: Record<string, { code: string; message: string }[]> = {},
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }

  /** The first field error, or the message: what a form shows next to its submit button. */
  get summary(): string {
    for (const [field, errors] of Object.entries(this.fields)) {
      if (errors[0]) return `${field}: ${errors[0].message}`;
    }
    return this.message;
  }
}

interface ErrorBody {
  code?: number;
  message?: string;
  errors?: Record<string, { code: string; message: string }[]>;
  retry_after?: number;
}

export interface AuthReply {
  token: string;
  user: SelfUser;
}

/** A right password for an account with two-factor authentication: finish with the ticket and a code. */
export interface MfaReply {
  token: null;
  mfa: true;
  ticket: string;
  backup: boolean;
}

export type LoginReply = AuthReply | MfaReply;

/** Register under `instance.registration: approval`: the account waits for an instance admin. */
export interface PendingReply {
  token: null;
  user: SelfUser;
  pending_approval: true;
}

/** Register with email verification required: the account is made by the mailed link. */
export interface MailedRegistrationReply {
  token: null;
  user: null;
  verification_pending: true;
}

/** An account as an instance admin sees it (`GET /admin/users`). */
export interface AdminUser {
  id: string;
  username: string;
  email: string;
  created_at: string;
  admin: boolean;
  disabled: boolean;
  pending_approval: boolean;
  bot: boolean;
}

export interface AdminGuild {
  id: string;
  name: string;
  owner_id: string;
  created_at: string;
}

export interface AdminPage<T> {
  items: T[];
  cursor: string | null;
}

export interface AdminStats {
  users: number;
  guilds: number;
  messages: number;
  messages_today: number;
}

export interface AdminAuditEntry {
  id: string;
  actor_id: string;
  action: string;
  target_type: string;
  target_id: string;
  reason: string | null;
  created_at: string;
}
/** The latest personal data export (`GET /users/@me/data-export`): `url` is a signed, expiring link once ready. */
export interface DataExportInfo {
  id: string;
  status: 'pending' | 'ready' | 'failed';
  created_at: string;
  finished_at: string | null;
  size: number | null;
  url: string | null;
}

/** One signed-in device (`GET /users/@me/sessions`). */
/** A bot application, as `GET /applications` lists it (Discord's application object). */
export interface ApplicationInfo {
  id: string;
  name: string;
  flags: number;
  bot: PublicUser;
}

export interface SessionInfo {
  id: string;
  created_at: string;
  expires_at: string | null;
  current: boolean;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Thin typed wrapper over `/api/v1`; one instance per signed-in token. */
/** Discord's audit log page (the parts the viewer shows). */
export interface AuditLogPage {
  audit_log_entries: {
    id: string;
    user_id: string | null;
    target_id: string | null;
    action_type: number;
    changes: { key: string; old_value?: unknown; new_value?: unknown }[];
    reason?: string;
  }[];
  users: PublicUser[];
}

/** Discord's AutoMod rule. */
export interface AutoModRule {
  id: string;
  guild_id: string;
  creator_id: string;
  name: string;
  event_type: number;
  trigger_type: number;
  trigger_metadata: { keyword_filter?: string[]; regex_patterns?: string[]; allow_list?: string[] };
  actions: {
    type: number;
    metadata?: { channel_id?: string; duration_seconds?: number; custom_message?: string };
  }[];
  enabled: boolean;
  exempt_roles: string[];
  exempt_channels: string[];
}

/** Discord's relationship (Parley has blocks: type 2). */
export interface Relationship {
  id: string;
  type: number;
  user: PublicUser;
}

export class Api {
  constructor(public token: string | null = null) {}

  async request<T>(method: Method, path: string, body?: unknown, reason?: string | null): Promise<T> {
    const headers: Record<string, string> = {};
    // Discord's audit log reason header, URL-encoded as Discord clients send it.
    if (reason) headers['x-audit-log-reason'] = encodeURIComponent(reason);
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const form = body instanceof FormData;
    if (body !== undefined && !form) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`/api/v1${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : form ? body : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, 0, 'Network error: check your connection');
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    if (!res.ok) {
      const e = (parsed ?? {}) as ErrorBody;
      throw new ApiError(
        res.status,
        e.code ?? 0,
        e.message ?? `Request failed (${res.status})`,
        e.errors ?? {},
        e.retry_after ?? null,
      );
    }
    return parsed as T;
  }

  // --- instance admin (403 for everyone else) ---------------------------------------------------
  adminStats() {
    return this.request<AdminStats>('GET', '/admin/stats');
  }
  adminUsers(query: string, before: string | null = null) {
    const q = new URLSearchParams({ query, limit: '50' });
    if (before) q.set('before', before);
    return this.request<AdminPage<AdminUser>>('GET', `/admin/users?${q.toString()}`);
  }
  adminSetDisabled(id: string, disabled: boolean) {
    return this.request<AdminUser>('PATCH', `/admin/users/${id}`, { disabled });
  }
  adminDeleteUser(id: string) {
    return this.request<void>('DELETE', `/admin/users/${id}`);
  }
  adminGuilds(query: string, before: string | null = null) {
    const q = new URLSearchParams({ query, limit: '50' });
    if (before) q.set('before', before);
    return this.request<AdminPage<AdminGuild>>('GET', `/admin/guilds?${q.toString()}`);
  }
  adminDeleteGuild(id: string) {
    return this.request<void>('DELETE', `/admin/guilds/${id}`);
  }
  adminRegistrations() {
    return this.request<AdminUser[]>('GET', '/admin/registrations');
  }
  adminDecide(id: string, decision: 'approve' | 'reject') {
    return this.request<unknown>('POST', `/admin/registrations/${id}/${decision}`);
  }
  adminAuditLog() {
    return this.request<AdminAuditEntry[]>('GET', '/admin/audit-log?limit=100');
  }

  // --- auth --------------------------------------------------------------------------------
  /** The single sign-on providers the login screen offers, and whether passwords are off. */
  oidcProviders() {
    return this.request<{ providers: { id: string; name: string }[]; sso_only: boolean }>(
      'GET',
      '/auth/oidc/providers',
    );
  }
  /** Links a pending single sign-on identity to the account its email names, with that account's password. */
  oidcLink(ticket: string, password: string) {
    return this.request<LoginReply>('POST', '/auth/oidc/link', { ticket, password });
  }
  me() {
    return this.request<SelfUser>('GET', '/users/@me');
  }
  deleteMe(password: string, code: string | null) {
    return this.request<void>('DELETE', '/users/@me', { password, code });
  }
  requestDataExport() {
    return this.request<DataExportInfo>('POST', '/users/@me/data-export');
  }
  dataExport() {
    return this.request<DataExportInfo>('GET', '/users/@me/data-export');
  }
  register(username: string, email: string, password: string, invite: string | null = null) {
    return this.request<AuthReply | PendingReply | MailedRegistrationReply>('POST', '/auth/register', {
      username,
      email,
      password,
      invite,
    });
  }
  login(login: string, password: string) {
    return this.request<LoginReply>('POST', '/auth/login', { login, password });
  }
  mfaLogin(ticket: string, code: string) {
    return this.request<AuthReply>('POST', '/auth/mfa/totp', { ticket, code });
  }
  forgot(email: string) {
    return this.request<void>('POST', '/auth/forgot', { email });
  }
  reset(token: string, password: string) {
    return this.request<LoginReply>('POST', '/auth/reset', { token, password });
  }
  /** Nothing for an address verified; a session (or approval wait) when the link made the account. */
  verifyEmail(token: string) {
    return this.request<AuthReply | PendingReply | null>('POST', '/auth/verify', { token });
  }
  resendVerification() {
    return this.request<void>('POST', '/auth/verify/resend');
  }
  enableTotp(secret: string, code: string, password: string) {
    return this.request<{ backup_codes: { code: string }[] }>('POST', '/users/@me/mfa/totp/enable', {
      secret,
      code,
      password,
    });
  }
  sessions() {
    return this.request<SessionInfo[]>('GET', '/users/@me/sessions');
  }
  revokeSession(id: string) {
    return this.request<void>('DELETE', `/users/@me/sessions/${encodeURIComponent(id)}`);
  }
  logoutAll() {
    return this.request<void>('POST', '/auth/logout-all');
  }
  disableTotp(code: string) {
    return this.request<void>('POST', '/users/@me/mfa/totp/disable', { code });
  }
  logout() {
    return this.request<void>('POST', '/auth/logout');
  }

  // --- guilds ------------------------------------------------------------------------------
  createGuild(name: string) {
    return this.request<GuildFullDto>('POST', '/guilds', { name });
  }
  guild(guildId: string) {
    return this.request<GuildFullDto>('GET', `/guilds/${guildId}`);
  }
  emojis(guildId: string) {
    return this.request<EmojiDto[]>('GET', `/guilds/${guildId}/emojis`);
  }

  /** `image` is a data URI (Discord's form). */
  createEmoji(guildId: string, body: { name: string; image: string }) {
    return this.request<EmojiDto>('POST', `/guilds/${guildId}/emojis`, body);
  }

  updateEmoji(guildId: string, emojiId: string, patch: { name?: string }) {
    return this.request<EmojiDto>('PATCH', `/guilds/${guildId}/emojis/${emojiId}`, patch);
  }

  deleteEmoji(guildId: string, emojiId: string) {
    return this.request<void>('DELETE', `/guilds/${guildId}/emojis/${emojiId}`);
  }

  updateGuild(guildId: string, patch: { name?: string; default_message_notifications?: number }) {
    return this.request<GuildDto>('PATCH', `/guilds/${guildId}`, patch);
  }
  /** The caller's notification settings in a guild (Discord's user guild settings; partial patch). */
  updateGuildSettings(guildId: string, patch: Record<string, unknown>) {
    return this.request<UserGuildSettingsDto>('PATCH', `/users/@me/guilds/${guildId}/settings`, patch);
  }
  deleteGuild(guildId: string) {
    return this.request<void>('DELETE', `/guilds/${guildId}`);
  }
  leaveGuild(guildId: string) {
    return this.request<void>('DELETE', `/users/@me/guilds/${guildId}`);
  }
  /** Adds a bot application's user to the guild (MANAGE_GUILD); undefined when it already was a member. */
  addBot(guildId: string, botId: string) {
    return this.request<MemberDto | undefined>('PUT', `/guilds/${guildId}/members/${botId}`);
  }
  /** The caller's own bot applications (no tokens: those are shown on create and reset only). */
  applications() {
    return this.request<ApplicationInfo[]>('GET', '/applications');
  }
  updateApplication(id: string, flags: number) {
    return this.request<ApplicationInfo>('PATCH', `/applications/${id}`, { flags });
  }
  resetBotToken(id: string) {
    return this.request<{ token: string }>('POST', `/applications/${id}/bot/reset`);
  }
  member(guildId: string, userId: string) {
    return this.request<MemberDto>('GET', `/guilds/${guildId}/members/${userId}`);
  }
  createApplication(name: string, flags: number) {
    return this.request<{ id: string; name: string; flags: number; token: string }>('POST', '/applications', {
      name,
      flags,
    });
  }
  members(guildId: string, after?: string) {
    const q = after ? `&after=${after}` : '';
    return this.request<MemberDto[]>('GET', `/guilds/${guildId}/members?limit=1000${q}`);
  }
  updateMember(guildId: string, userId: string, patch: { nick?: string | null; roles?: string[] }) {
    return this.request<MemberDto>('PATCH', `/guilds/${guildId}/members/${userId}`, patch);
  }
  kick(guildId: string, userId: string, reason: string | null = null) {
    return this.request<void>('DELETE', `/guilds/${guildId}/members/${userId}`, undefined, reason);
  }
  /** Times a member out until `until` (ISO time; null lifts it), with an audit log reason. */
  timeout(guildId: string, userId: string, until: string | null, reason: string | null) {
    return this.request<MemberDto>(
      'PATCH',
      `/guilds/${guildId}/members/${userId}`,
      { communication_disabled_until: until },
      reason,
    );
  }
  auditLog(guildId: string, filter: { user_id?: string; action_type?: number; before?: string }) {
    const q = new URLSearchParams({ limit: '50' });
    if (filter.user_id) q.set('user_id', filter.user_id);
    if (filter.action_type) q.set('action_type', String(filter.action_type));
    if (filter.before) q.set('before', filter.before);
    return this.request<AuditLogPage>('GET', `/guilds/${guildId}/audit-logs?${q.toString()}`);
  }
  autoModRules(guildId: string) {
    return this.request<AutoModRule[]>('GET', `/guilds/${guildId}/auto-moderation/rules`);
  }
  createAutoModRule(guildId: string, rule: Omit<AutoModRule, 'id' | 'guild_id' | 'creator_id'>) {
    return this.request<AutoModRule>('POST', `/guilds/${guildId}/auto-moderation/rules`, rule);
  }
  updateAutoModRule(guildId: string, ruleId: string, patch: Partial<AutoModRule>) {
    return this.request<AutoModRule>('PATCH', `/guilds/${guildId}/auto-moderation/rules/${ruleId}`, patch);
  }
  deleteAutoModRule(guildId: string, ruleId: string) {
    return this.request<void>('DELETE', `/guilds/${guildId}/auto-moderation/rules/${ruleId}`);
  }
  relationships() {
    return this.request<Relationship[]>('GET', '/users/@me/relationships');
  }
  block(userId: string) {
    return this.request<void>('PUT', `/users/@me/relationships/${userId}`, { type: 2 });
  }
  unblock(userId: string) {
    return this.request<void>('DELETE', `/users/@me/relationships/${userId}`);
  }
  report(body: {
    reason: string;
    channel_id?: string;
    message_id?: string;
    user_id?: string;
    guild_id?: string;
  }) {
    return this.request<{ id: string }>('POST', '/reports', body);
  }
  bans(guildId: string) {
    return this.request<BanDto[]>('GET', `/guilds/${guildId}/bans?limit=1000`);
  }
  ban(guildId: string, userId: string, reason: string | null) {
    return this.request<void>('PUT', `/guilds/${guildId}/bans/${userId}`, {}, reason);
  }
  unban(guildId: string, userId: string) {
    return this.request<void>('DELETE', `/guilds/${guildId}/bans/${userId}`);
  }
  createRole(guildId: string, role: Partial<Pick<RoleDto, 'name' | 'permissions' | 'color'>>) {
    return this.request<RoleDto>('POST', `/guilds/${guildId}/roles`, role);
  }
  updateRole(
    guildId: string,
    roleId: string,
    role: Partial<Pick<RoleDto, 'name' | 'permissions' | 'color'>>,
  ) {
    return this.request<RoleDto>('PATCH', `/guilds/${guildId}/roles/${roleId}`, role);
  }
  deleteRole(guildId: string, roleId: string) {
    return this.request<void>('DELETE', `/guilds/${guildId}/roles/${roleId}`);
  }
  guildInvites(guildId: string) {
    return this.request<InviteDto[]>('GET', `/guilds/${guildId}/invites`);
  }

  // --- webhooks ----------------------------------------------------------------------------
  guildWebhooks(guildId: string) {
    return this.request<WebhookDto[]>('GET', `/guilds/${guildId}/webhooks`);
  }
  createWebhook(channelId: string, name: string) {
    return this.request<WebhookDto>('POST', `/channels/${channelId}/webhooks`, { name });
  }
  updateWebhook(webhookId: string, body: { name?: string; channel_id?: string }) {
    return this.request<WebhookDto>('PATCH', `/webhooks/${webhookId}`, body);
  }
  deleteWebhook(webhookId: string) {
    return this.request<void>('DELETE', `/webhooks/${webhookId}`);
  }

  // --- channels ----------------------------------------------------------------------------
  createChannel(guildId: string, body: { name: string; type: 0 | 4; parent_id?: string | null }) {
    return this.request<ChannelDto>('POST', `/guilds/${guildId}/channels`, body);
  }
  updateChannel(
    channelId: string,
    patch: { name?: string; topic?: string | null; parent_id?: string | null; rate_limit_per_user?: number },
  ) {
    return this.request<ChannelDto>('PATCH', `/channels/${channelId}`, patch);
  }
  deleteChannel(channelId: string) {
    return this.request<ChannelDto>('DELETE', `/channels/${channelId}`);
  }
  openDm(recipientId: string) {
    return this.request<ChannelDto>('POST', '/users/@me/channels', { recipient_id: recipientId });
  }

  // --- messages ----------------------------------------------------------------------------
  history(channelId: string, limit: number, before?: string) {
    const q = before ? `&before=${before}` : '';
    return this.request<MessageDto[]>('GET', `/channels/${channelId}/messages?limit=${limit}${q}`);
  }
  /** The message and about half the limit on each side of it. */
  around(channelId: string, messageId: string, limit: number) {
    return this.request<MessageDto[]>(
      'GET',
      `/channels/${channelId}/messages?limit=${limit}&around=${messageId}`,
    );
  }
  /** Messages after `after`, the oldest of them (Discord's `after`). */
  newer(channelId: string, after: string, limit: number) {
    return this.request<MessageDto[]>('GET', `/channels/${channelId}/messages?limit=${limit}&after=${after}`);
  }
  send(channelId: string, content: string, nonce: string, attachmentIds: string[] = [], replyTo?: string) {
    const body: {
      content?: string;
      nonce: string;
      attachment_ids?: string[];
      enforce_nonce: true;
      message_reference?: { message_id: string; fail_if_not_exists: boolean };
      // enforce_nonce: a retry of this send (an automatic retry, or a repeat after a lost answer) gets the
      // first message back instead of storing it twice.
    } = { nonce, enforce_nonce: true };
    if (content) body.content = content;
    if (attachmentIds.length > 0) body.attachment_ids = attachmentIds;
    // A reply to a message deleted meanwhile is still sent, as a plain message (Discord's fail_if_not_exists).
    if (replyTo) body.message_reference = { message_id: replyTo, fail_if_not_exists: false };
    return this.request<MessageDto>('POST', `/channels/${channelId}/messages`, body);
  }
  /** Streams one file (multipart field `file`) into the channel's attachments. */
  upload(channelId: string, file: File) {
    const form = new FormData();
    form.append('file', file, file.name);
    return this.request<AttachmentDto>('POST', `/channels/${channelId}/attachments`, form);
  }
  edit(channelId: string, messageId: string, content: string) {
    return this.request<MessageDto>('PATCH', `/channels/${channelId}/messages/${messageId}`, { content });
  }
  /** Discord's "remove embeds": sets SUPPRESS_EMBEDS (the author, or MANAGE_MESSAGES for others' messages). */
  suppressEmbeds(channelId: string, messageId: string) {
    return this.request<MessageDto>('PATCH', `/channels/${channelId}/messages/${messageId}`, { flags: 4 });
  }
  /** The channel's pinned messages, newest pin first (Discord's `GET /channels/:id/pins`). */
  pins(channelId: string) {
    return this.request<MessageDto[]>('GET', `/channels/${channelId}/pins`);
  }
  pin(channelId: string, messageId: string, on: boolean) {
    return this.request<void>(on ? 'PUT' : 'DELETE', `/channels/${channelId}/pins/${messageId}`);
  }
  deleteMessage(channelId: string, messageId: string) {
    return this.request<void>('DELETE', `/channels/${channelId}/messages/${messageId}`);
  }
  /** Discord's bulk delete: 2 to 100 ids, none older than 14 days, MANAGE_MESSAGES. */
  bulkDelete(channelId: string, ids: string[]) {
    return this.request<void>('POST', `/channels/${channelId}/messages/bulk-delete`, { messages: ids });
  }
  /** A LiveKit URL and token for a voice channel (503 when the instance has no LiveKit configured). */
  voiceJoin(channelId: string) {
    return this.request<{ url: string; token: string }>('POST', `/channels/${channelId}/voice/join`);
  }
  react(channelId: string, messageId: string, emoji: ReactionEmojiDto, on: boolean) {
    const path = `/channels/${channelId}/messages/${messageId}/reactions/${encodeURIComponent(emojiRoute(emoji))}/@me`;
    return this.request<void>(on ? 'PUT' : 'DELETE', path);
  }
  typing(channelId: string) {
    return this.request<void>('POST', `/channels/${channelId}/typing`);
  }
  ack(channelId: string, messageId: string) {
    return this.request<void>('POST', `/channels/${channelId}/messages/${messageId}/ack`);
  }
  readStates() {
    return this.request<ReadStateDto[]>('GET', '/users/@me/read-states');
  }

  // --- invites -----------------------------------------------------------------------------
  createInvite(channelId: string, body: { max_age?: number; max_uses?: number } = {}) {
    return this.request<InviteDto>('POST', `/channels/${channelId}/invites`, body);
  }
  invite(code: string) {
    return this.request<InviteDto>('GET', `/invites/${encodeURIComponent(code)}`);
  }
  acceptInvite(code: string) {
    return this.request<InviteDto>('POST', `/invites/${encodeURIComponent(code)}`);
  }
  deleteInvite(code: string) {
    return this.request<InviteDto>('DELETE', `/invites/${encodeURIComponent(code)}`);
  }
  user(userId: string) {
    return this.request<PublicUser>('GET', `/users/${userId}`);
  }
}
