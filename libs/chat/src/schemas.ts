import { snowflake, visibleName } from '@parley/http';
import { SEARCH_TOTAL_CAP } from '@parley/storage';
import { z } from 'zod';
import { embedsInput } from './embeds';
import { SEARCH_CONTENT_MAX } from './search-query';

export { snowflake };
const permissionBits = z.string().regex(/^[0-9]{1,20}$/, 'Must be a decimal permission bit set');
const intFromQuery = (min: number, max: number, fallback: number) =>
  z
    .string()
    .regex(/^[0-9]{1,6}$/, 'Must be an integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .optional()
    .transform((v) => v ?? fallback);

/** Slowmode, as Discord bounds it: 0 (off) to 21600 seconds (6 hours). */
const slowmodeSeconds = z.number().int().min(0).max(21_600).optional();

export const guildCreateBody = z.object({ name: visibleName(2, 100) });
export const guildPatchBody = z.strictObject({
  name: visibleName(2, 100).optional(),
  owner_id: snowflake.optional(),
  default_message_notifications: z.union([z.literal(0), z.literal(1)]).optional(),
});

/** Discord's levels in user guild settings: 0 all, 1 only mentions, 2 nothing, 3 inherit. */
const notificationLevel = z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]);
/** ISO 8601 time or null (muted until unmuted); Discord clients also send selected_time_window. */
const muteConfig = z
  .object({
    end_time: z.iso.datetime({ offset: true }).nullable().optional(),
    selected_time_window: z.number().int().optional(),
  })
  .nullable();
const channelOverride = z.object({
  message_notifications: notificationLevel.optional(),
  muted: z.boolean().optional(),
  mute_config: muteConfig.optional(),
  collapsed: z.boolean().optional(),
});

/**
 * PATCH /users/@me/guilds/:id/settings. Discord's clients send channel_overrides as a map keyed by
 * channel id; the array form (each entry with its channel_id) is accepted too. Discord fields Parley keeps
 * no state for (mobile_push, hide_muted_channels, notify_highlights, flags, version, ...) are accepted and
 * ignored, never refused.
 */
export const guildSettingsPatchBody = z.object({
  message_notifications: notificationLevel.optional(),
  muted: z.boolean().optional(),
  mute_config: muteConfig.optional(),
  suppress_everyone: z.boolean().optional(),
  suppress_roles: z.boolean().optional(),
  channel_overrides: z
    .union([z.record(snowflake, channelOverride), z.array(channelOverride.extend({ channel_id: snowflake }))])
    .optional(),
});

export const overwriteBody = z.strictObject({
  type: z.union([z.literal(0), z.literal(1)]),
  allow: permissionBits.optional(),
  deny: permissionBits.optional(),
});

export const channelCreateBody = z.object({
  name: visibleName(1, 100),
  type: z.union([z.literal(0), z.literal(2), z.literal(4)]).optional(),
  topic: z.string().max(1024).nullable().optional(),
  parent_id: snowflake.nullable().optional(),
  position: z.number().int().min(0).max(10_000).optional(),
  rate_limit_per_user: slowmodeSeconds,
  permission_overwrites: z
    .array(overwriteBody.extend({ id: snowflake }))
    .max(100)
    .optional(),
});
export const channelPatchBody = z.strictObject({
  name: visibleName(1, 100).optional(),
  topic: z.string().max(1024).nullable().optional(),
  parent_id: snowflake.nullable().optional(),
  position: z.number().int().min(0).max(10_000).optional(),
  rate_limit_per_user: slowmodeSeconds,
});

export const memberListQuery = z.object({ limit: intFromQuery(1, 1000, 100), after: snowflake.optional() });
/** Discord's `GET /guilds/:id/bans`: user id order, 1000 by default; `before` wins over `after`. */
export const banListQuery = z.object({
  limit: intFromQuery(1, 1000, 1000),
  before: snowflake.optional(),
  after: snowflake.optional(),
});
/** `GET /users/@me/channels`: newest DM first, a page at a time (Discord has no paging here: docs/discord-compatibility.md). */
export const dmListQuery = z.object({ limit: intFromQuery(1, 1000, 1000), before: snowflake.optional() });
export const memberPatchBody = z.strictObject({
  nick: visibleName(1, 32).nullable().optional(),
  roles: z.array(snowflake).max(250).optional(),
  // ISO 8601 as Discord takes it; null lifts a timeout.
  communication_disabled_until: z.iso.datetime({ offset: true }).nullable().optional(),
});
export const auditLogQuery = z.object({
  limit: intFromQuery(1, 100, 50),
  before: snowflake.optional(),
  after: snowflake.optional(),
  user_id: snowflake.optional(),
  action_type: intFromQuery(1, 1000, 0).transform((v) => (v === 0 ? undefined : v)),
});
export const banBody = z.object({ reason: z.string().max(512).nullable().optional() }).optional();

export const roleBody = z.strictObject({
  name: visibleName(1, 100).optional(),
  permissions: permissionBits.optional(),
  color: z.number().int().min(0).max(0xffffff).optional(),
  position: z.number().int().min(0).max(10_000).optional(),
  mentionable: z.boolean().optional(),
});

export const historyQuery = z
  .object({
    limit: intFromQuery(1, 100, 50),
    before: snowflake.optional(),
    after: snowflake.optional(),
    around: snowflake.optional(),
  })
  .refine((q) => [q.before, q.after, q.around].filter(Boolean).length <= 1, {
    message: 'Use at most one of before, after and around',
    path: ['around'],
  });

/**
 * Discord's allowed_mentions: `parse` may not name a kind whose ids are also listed (400, as Discord answers
 * "parse:[\"users\"] and users: [ids...] are mutually exclusive").
 */
const allowedMentions = z
  .object({
    parse: z
      .array(z.enum(['users', 'roles', 'everyone']))
      .max(3)
      .optional(),
    users: z.array(snowflake).max(100).optional(),
    roles: z.array(snowflake).max(100).optional(),
    replied_user: z.boolean().optional(),
  })
  .refine((a) => !(a.parse?.includes('users') && a.users !== undefined), {
    message: 'parse:["users"] and users: [ids...] are mutually exclusive.',
    path: ['parse'],
  })
  .refine((a) => !(a.parse?.includes('roles') && a.roles !== undefined), {
    message: 'parse:["roles"] and roles: [ids...] are mutually exclusive.',
    path: ['parse'],
  });

export const messageCreateBody = z.object({
  content: z.string().max(4000).optional(),
  nonce: z.union([z.string().max(64), z.number().int().transform(String)]).optional(),
  // Discord's: with a nonce, a repeat of this send by the same author in the channel within minutes answers
  // with the first message instead of storing another.
  enforce_nonce: z.boolean().optional(),
  attachment_ids: z.array(snowflake).max(10).optional(),
  message_reference: z
    .object({
      message_id: snowflake,
      channel_id: snowflake.optional(),
      guild_id: snowflake.optional(),
      fail_if_not_exists: z.boolean().optional(),
    })
    .optional(),
  allowed_mentions: allowedMentions.optional(),
  embeds: embedsInput.optional(),
  flags: z.number().int().min(0).max(0xffffffff).optional(),
});
/** Discord's bulk delete body: unknown ids still count towards the 2..100 limits. */
export const messageBulkDeleteBody = z.object({ messages: z.array(snowflake).min(2).max(100) });
export const messagePatchBody = z
  .strictObject({
    content: z.string().min(1).max(4000).optional(),
    embeds: embedsInput.optional(),
    flags: z.number().int().min(0).max(0xffffffff).optional(),
    allowed_mentions: allowedMentions.optional(),
  })
  .refine((b) => b.content !== undefined || b.embeds !== undefined || b.flags !== undefined, {
    message: 'Give content, embeds or flags',
    path: ['content'],
  });

/** Discord's pins page: `before` is a time (ISO 8601), `limit` 1..50. */
export const pinsQuery = z.object({
  before: z.iso
    .datetime({ offset: true })
    .transform((v) => Date.parse(v))
    .optional(),
  limit: intFromQuery(1, 50, 50),
});

export const reactorsQuery = z.object({ limit: intFromQuery(1, 100, 25), after: snowflake.optional() });

export const inviteCreateBody = z
  .object({
    max_age: z.number().int().min(0).max(604_800).optional(),
    max_uses: z.number().int().min(0).max(100).optional(),
  })
  .optional();

export const dmCreateBody = z.object({ recipient_id: snowflake });

/** One value or the parameter repeated (`?author_id=1&author_id=2`), as an array either way. */
const oneOrMany = <V extends string>(item: z.ZodType<V>, max: number) =>
  z
    .union([item, z.array(item).max(max)])
    .optional()
    .transform((v): V[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]));

export const searchQuery = z.object({
  content: z.string().max(SEARCH_CONTENT_MAX).optional(),
  author_id: oneOrMany(snowflake, 25),
  channel_id: oneOrMany(snowflake, 100),
  mentions: oneOrMany(snowflake, 25),
  has: oneOrMany(z.enum(['link', 'file', 'image', 'embed']), 4),
  min_id: snowflake.optional(),
  max_id: snowflake.optional(),
  offset: intFromQuery(0, SEARCH_TOTAL_CAP - 1, 0),
  limit: intFromQuery(1, 25, 25),
});

/** `PUT /users/@me/relationships/:user_id`: Discord's body; only 2 (block) is built. */
export const relationshipBody = z.object({ type: z.number().int().optional() }).passthrough();

/** `PATCH /users/@me/privacy`: who may open a new DM with the caller. */
export const privacyBody = z.strictObject({
  direct_messages: z.enum(['everyone', 'mutual_guilds', 'nobody']),
});

/** `POST /reports`: exactly one of a message (with its channel), a user or a guild. */
export const reportBody = z
  .strictObject({
    reason: z.string().trim().min(1).max(1024),
    channel_id: snowflake.optional(),
    message_id: snowflake.optional(),
    user_id: snowflake.optional(),
    guild_id: snowflake.optional(),
  })
  // A message report names the message (with its channel_id, so it can be checked and shown to the guild's
  // moderators); a user report the user (guild_id: where it happened); a guild report only the guild.
  .refine((b) => (b.message_id !== undefined ? 1 : 0) + (b.user_id !== undefined ? 1 : 0) <= 1, {
    message: 'Report one message or one user',
    path: ['user_id'],
  })
  .refine((b) => b.message_id !== undefined || b.user_id !== undefined || b.guild_id !== undefined, {
    message: 'Report a message_id (with channel_id), a user_id or a guild_id',
    path: ['message_id'],
  });

export const reportsQuery = z.object({
  limit: intFromQuery(1, 100, 50),
  before: snowflake.optional(),
});
// --- webhooks (Discord's shapes) ------------------------------------------------------------------------

/** Discord's webhook name: 1-80 characters, and never one that passes for Discord itself. */
const webhookName = z
  .string()
  .trim()
  .min(1)
  .max(80)
  .refine((n) => !/clyde|discord/i.test(n), { message: 'Webhook names cannot contain "clyde" or "discord"' });
const httpUrl = z
  .string()
  .max(2048)
  .refine((u) => /^https?:\/\/[^\s]+$/i.test(u), { message: 'Must be an http(s) URL' });
/** Discord's image data (a data: URI), kept small: it is read with the webhook on every execute. */
const imageData = z
  .string()
  .max(65_536)
  .refine((u) => /^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=]+$/.test(u), {
    message: 'Must be a PNG, JPEG, GIF or WebP data URI of at most 64 KiB',
  });
const webhookAvatar = z.union([imageData, httpUrl]).nullable().optional();

export const webhookCreateBody = z.object({ name: webhookName, avatar: webhookAvatar });
export const webhookPatchBody = z.object({
  name: webhookName.optional(),
  avatar: webhookAvatar,
  channel_id: snowflake.optional(),
});
/** With the token, Discord lets the holder rename and re-avatar, never move the webhook. */
export const webhookTokenPatchBody = z.object({ name: webhookName.optional(), avatar: webhookAvatar });

/** Execute: at least one of content, embeds (files come as multipart parts). */
/**
 * Discord's partial attachments on execute and edit: `id` is the index n of a `files[n]` part for a new file, or
 * the id of an attachment the message keeps; `filename` and `description` (alt text) may be given.
 */
const partialAttachment = z.object({
  id: z.union([z.string().regex(/^\d{1,20}$/), z.number().int().min(0)]).transform(String),
  filename: z.string().min(1).max(1024).optional(),
  description: z.string().max(1024).optional(),
});
export const webhookAttachments = z.array(partialAttachment);

export const webhookExecuteBody = z.object({
  attachments: webhookAttachments.optional(),
  content: z.string().max(2000).optional(),
  username: webhookName.optional(),
  avatar_url: httpUrl.optional(),
  tts: z.boolean().optional(),
  embeds: embedsInput.optional(),
  allowed_mentions: allowedMentions.optional(),
  // Discord's settable flags on execute: SUPPRESS_EMBEDS and SUPPRESS_NOTIFICATIONS.
  flags: z.number().int().min(0).max(0xffffffff).optional(),
});
const queryFlag = z
  .enum(['true', 'false', '1', '0', 'True', 'False'])
  .transform((v) => v === 'true' || v === '1' || v === 'True');
export const webhookExecuteQuery = z.object({ wait: queryFlag.optional() });

/** Editing a webhook's message by token: content, embeds, allowed_mentions and the attachments it keeps. */
export const webhookMessagePatchBody = z.object({
  content: z.string().max(2000).nullable().optional(),
  embeds: embedsInput.nullable().optional(),
  allowed_mentions: allowedMentions.nullable().optional(),
  attachments: webhookAttachments.nullable().optional(),
  flags: z.number().int().min(0).max(0xffffffff).nullable().optional(),
});
