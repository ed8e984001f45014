import { isSnowflake } from '@parley/common';
import { BULK_TABLES, type BulkRecords, type BulkTable, type EmbedRecord } from '@parley/storage';
import { z } from 'zod';

/**
 * The export format, version 1: NDJSON (one JSON value per line, UTF-8), gzip-compressed when the file
 * name ends in .gz.
 *   line 1      {"format":"parley-export","version":1,"exported_at":"<ISO time>","source":"sqlite","tables":[...]}
 *   then        {"table":"<table>","record":{...}}   one per row, table by table
 *   last line   {"end":true,"counts":{"<table>":<rows>,...}}
 * Records have the storage records' shapes (ids as decimal strings, times as epoch milliseconds). The
 * last line makes a truncated file detectable; its counts make a dropped line detectable.
 */
export const EXPORT_FORMAT = 'parley-export';
export const EXPORT_VERSION = 1;

export interface ExportHeader {
  format: typeof EXPORT_FORMAT;
  version: number;
  exported_at: string;
  source: 'sqlite' | 'cassandra';
  tables: BulkTable[];
  /**
   * The epoch (ms) the file's ids count from. Absent in files made before it was written: those come from
   * instances whose ids all count from Parley's first epoch (2024-01-01), which an import then records.
   */
  snowflake_epoch?: number;
}

export interface ExportEnd {
  end: true;
  counts: Partial<Record<BulkTable, number>>;
}

const id = z.string().refine(isSnowflake, 'must be a snowflake id (a decimal string)');
const time = z.number().int().nonnegative();
const count = z.number().int().nonnegative();
const bits = z.string().regex(/^[0-9]{1,40}$/, 'must be a decimal permission bit set');
const text = (max: number) => z.string().max(max);
/** Discord's notification level: 0 all, 1 only mentions, 2 nothing, 3 inherit (the guild's, or the guild settings'). */
const level = z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]);

const attachmentRef = z.strictObject({
  id,
  filename: text(1024),
  size: count,
  contentType: text(255),
  width: count.nullable(),
  height: count.nullable(),
});

const SCHEMAS: { [T in BulkTable]: z.ZodType<BulkRecords[T]> } = {
  users: z.strictObject({
    id,
    username: text(64).min(1),
    email: text(320).min(3),
    displayName: text(128).nullable(),
    avatar: text(1024).nullable(),
    passwordHash: text(1024).min(1),
    createdAt: time,
    // Older exports have neither (no bots then).
    botOwnerId: id.nullable().optional(),
    appFlags: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .optional(),
    // Absent in exports made before email verification existed: those accounts count as verified.
    emailVerified: z.boolean().default(true),
    mfaSecret: z
      .string()
      .regex(/^[A-Z2-7]{16,128}$/)
      .nullable()
      .default(null),
    mfaBackupCodes: z
      .array(z.string().regex(/^[0-9a-f]{64}$/))
      .max(64)
      .default([]),
    // Absent in exports made before instance admins existed.
    admin: z.boolean().default(false),
    disabled: z.boolean().default(false),
    approvalPending: z.boolean().default(false),
  }),
  tokens: z.strictObject({
    tokenHash: z.string().regex(/^[0-9a-f]{64}$/),
    userId: id,
    createdAt: time,
    expiresAt: time.nullable(),
  }),
  guilds: z.strictObject({
    id,
    name: text(200).min(1),
    icon: text(1024).nullable(),
    ownerId: id,
    createdAt: time,
    // Absent in exports made before notification settings existed: all messages (Discord's default).
    defaultMessageNotifications: z.number().int().min(0).max(1).default(0),
  }),
  roles: z.strictObject({
    id,
    guildId: id,
    name: text(200),
    permissions: bits,
    color: z.number().int().min(0).max(0xffffff),
    position: z.number().int(),
    // Absent in exports made before role mentions existed.
    mentionable: z.boolean().default(false),
  }),
  members: z.strictObject({
    guildId: id,
    userId: id,
    nick: text(64).nullable(),
    roles: z.array(id),
    joinedAt: time,
    communicationDisabledUntil: time.nullable().optional(),
  }),
  channels: z.strictObject({
    id,
    type: z.number().int().min(0).max(15),
    guildId: id.nullable(),
    name: text(200).nullable(),
    topic: text(4096).nullable(),
    parentId: id.nullable(),
    position: z.number().int(),
    rateLimitPerUser: z.number().int().min(0).max(21_600).optional(),
    recipients: z.array(id).max(10),
    overwrites: z.array(z.never()).max(0, 'overwrites are records of their own table'),
  }),
  overwrites: z.strictObject({
    guildId: id,
    channelId: id,
    id,
    type: z.union([z.literal(0), z.literal(1)]),
    allow: bits,
    deny: bits,
  }),
  dm_pairs: z
    .strictObject({ userLow: id, userHigh: id, channelId: id })
    .refine((p) => BigInt(p.userLow) <= BigInt(p.userHigh), 'userLow must not exceed userHigh'),
  messages: z.strictObject({
    id,
    channelId: id,
    guildId: id.nullable(),
    authorId: id,
    content: text(4000),
    editedAt: time.nullable(),
    attachments: z.array(attachmentRef).max(10),
    mentions: z.array(id).max(100),
    // Absent in exports made before role mentions existed.
    mentionRoles: z.array(id).max(250).default([]),
    mentionEveryone: z.boolean(),
    pinned: z.boolean(),
    type: z.number().int().min(0).max(255),
    nonce: text(64).nullable(),
    // Absent in exports made before replies existed.
    referenceId: id.nullable().default(null),
    // Absent in exports made before embeds existed. Validated against Discord's limits when they were sent.
    embeds: z
      .array(z.record(z.string(), z.unknown()))
      .max(10)
      .default([])
      .transform((list) => list as EmbedRecord[]),
    flags: z.number().int().min(0).max(0xffffffff).default(0),
    // Only on a webhook's messages (absent in exports made before webhooks existed).
    webhook: z.strictObject({ id, name: text(80), avatar: text(2048).nullable() }).optional(),
  }),
  channel_last_messages: z.strictObject({ channelId: id, lastMessageId: id }),
  pins: z.strictObject({ channelId: id, messageId: id, pinnedAt: time }),
  reactions: z.strictObject({ channelId: id, messageId: id, emoji: text(64).min(1), userId: id }),
  read_states: z.strictObject({
    userId: id,
    channelId: id,
    lastMessageId: id.nullable(),
    mentionCount: count,
  }),
  push_subscriptions: z.strictObject({
    userId: id,
    endpointId: z.string().regex(/^[0-9a-f]{1,64}$/),
    endpoint: text(2048).min(1),
    p256dh: text(256).min(1),
    auth: text(64).min(1),
    createdAt: time,
  }),
  instance_secrets: z.strictObject({ name: text(64).min(1), value: text(4096), createdAt: time }),
  notification_preferences: z.strictObject({ userId: id, emailEnabled: z.boolean(), updatedAt: time }),
  user_identities: z.strictObject({
    provider: text(64).min(1),
    subject: text(255).min(1),
    userId: id,
    email: text(320).nullable(),
    createdAt: time,
  }),
  user_guild_settings: z.strictObject({
    userId: id,
    guildId: id,
    messageNotifications: level,
    muted: z.boolean(),
    muteEndTime: time.nullable(),
    suppressEveryone: z.boolean(),
    suppressRoles: z.boolean(),
    channelOverrides: z
      .array(
        z.strictObject({
          channelId: id,
          messageNotifications: level,
          muted: z.boolean(),
          muteEndTime: time.nullable(),
        }),
      )
      .max(500),
    updatedAt: time,
  }),
  invites: z.strictObject({
    code: z.string().regex(/^[A-Za-z0-9_-]{2,32}$/),
    guildId: id,
    channelId: id,
    inviterId: id,
    maxAge: count,
    maxUses: count,
    uses: count,
    createdAt: time,
    expiresAt: time.nullable(),
  }),
  bans: z.strictObject({ guildId: id, userId: id, reason: text(512).nullable(), createdAt: time }),
  emojis: z.strictObject({
    guildId: id,
    id,
    name: z.string().regex(/^[A-Za-z0-9_]{2,32}$/),
    roles: z.array(id).max(250),
    userId: id.nullable(),
    animated: z.boolean(),
  }),
  webhooks: z.strictObject({
    id,
    guildId: id,
    channelId: id,
    creatorId: id.nullable(),
    name: text(80),
    avatar: z.string().max(2_100_000).nullable(),
    token: text(128),
  }),
  audit_log_entries: z.strictObject({
    guildId: id,
    id,
    userId: id.nullable(),
    targetId: id.nullable(),
    actionType: count,
    changes: z.string(),
    reason: text(512).nullable(),
    options: z.string().nullable(),
    expiresAt: time,
  }),
  automod_rules: z.strictObject({ guildId: id, id, creatorId: id, rule: z.string() }),
  relationships: z.strictObject({
    userId: id,
    targetId: id,
    type: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]),
    createdAt: time,
  }),
  user_privacy: z.strictObject({
    userId: id,
    dmPolicy: z.union([z.literal(0), z.literal(1), z.literal(2)]),
    updatedAt: time,
  }),
  reports: z.strictObject({
    id,
    reporterId: id,
    reason: text(1024),
    guildId: id.nullable(),
    channelId: id.nullable(),
    messageId: id.nullable(),
    targetUserId: id.nullable(),
  }),
  instance_audit_log: z.strictObject({
    id,
    actorId: id,
    action: text(64).min(1),
    targetType: z.enum(['user', 'guild', 'registration']),
    targetId: text(32).min(1),
    reason: text(512).nullable(),
    expiresAt: time,
  }),
  attachments: z.strictObject({
    id,
    channelId: id,
    uploaderId: id,
    messageId: id.nullable(),
    filename: text(1024).min(1),
    size: count,
    contentType: text(255).min(1),
    width: count.nullable(),
    height: count.nullable(),
    createdAt: time,
  }),
  jobs: z.strictObject({
    id: text(200).min(1),
    name: text(200).min(1),
    payload: z.string(),
    attempts: count,
    runAt: time,
    lastError: z.string().nullable(),
    dead: z.boolean(),
  }),
};

const header = z.strictObject({
  format: z.literal(EXPORT_FORMAT),
  version: z.number().int(),
  exported_at: z.string(),
  source: z.enum(['sqlite', 'cassandra']),
  tables: z.array(z.enum(BULK_TABLES)),
  snowflake_epoch: z.number().int().min(0).optional(),
});

const end = z.strictObject({ end: z.literal(true), counts: z.partialRecord(z.enum(BULK_TABLES), count) });

const line = z.strictObject({ table: z.string(), record: z.unknown() });

export type ParsedLine =
  | { kind: 'record'; table: BulkTable; record: BulkRecords[BulkTable] }
  | { kind: 'end'; counts: Partial<Record<BulkTable, number>> }
  | { kind: 'invalid'; table: BulkTable | null; problem: string };

function describe(error: z.ZodError, prefix: string): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${[prefix, ...issue.path.map(String)].filter(Boolean).join('.')}: ${issue.message}`)
    .join('; ');
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; problem: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, problem: `not valid JSON (${(err as Error).message})` };
  }
}

/** Checks the first line; returns the header or what is wrong with it. */
export function parseHeader(text: string): { header: ExportHeader } | { problem: string } {
  const json = parseJson(text);
  if (!json.ok) return { problem: `not a Parley export: the first line is ${json.problem}` };
  const parsed = header.safeParse(json.value);
  if (!parsed.success) return { problem: `not a Parley export header (${describe(parsed.error, '')})` };
  if (parsed.data.version !== EXPORT_VERSION)
    return {
      problem: `export format version ${parsed.data.version} is not supported (this Parley reads version ${EXPORT_VERSION})`,
    };
  return { header: parsed.data };
}

/** Validates one line after the header. */
export function parseLine(text: string): ParsedLine {
  const json = parseJson(text);
  if (!json.ok) return { kind: 'invalid', table: null, problem: json.problem };
  if (typeof json.value === 'object' && json.value !== null && 'end' in json.value) {
    const parsed = end.safeParse(json.value);
    return parsed.success
      ? { kind: 'end', counts: parsed.data.counts }
      : { kind: 'invalid', table: null, problem: `bad end line (${describe(parsed.error, '')})` };
  }
  const envelope = line.safeParse(json.value);
  if (!envelope.success)
    return { kind: 'invalid', table: null, problem: `not a record line (${describe(envelope.error, '')})` };
  const table = envelope.data.table as BulkTable;
  if (!(BULK_TABLES as readonly string[]).includes(table))
    return { kind: 'invalid', table: null, problem: `unknown table "${envelope.data.table}"` };
  const parsed = SCHEMAS[table].safeParse(envelope.data.record);
  if (!parsed.success) return { kind: 'invalid', table, problem: describe(parsed.error, table) };
  return { kind: 'record', table, record: parsed.data };
}

export function formatHeader(
  source: 'sqlite' | 'cassandra',
  tables: readonly BulkTable[],
  now = new Date(),
  snowflakeEpoch?: number,
): string {
  const h: ExportHeader = {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exported_at: now.toISOString(),
    source,
    tables: [...tables],
    ...(snowflakeEpoch !== undefined ? { snowflake_epoch: snowflakeEpoch } : {}),
  };
  return JSON.stringify(h);
}

export function formatRecord(table: BulkTable, record: BulkRecords[BulkTable]): string {
  return JSON.stringify({ table, record });
}

export function formatEnd(counts: Partial<Record<BulkTable, number>>): string {
  return JSON.stringify({ end: true, counts } satisfies ExportEnd);
}
