/** Discord's audit log action types (AuditLogEvent), for the actions Parley has. */
export const AuditLogEvent = {
  GUILD_UPDATE: 1,
  CHANNEL_CREATE: 10,
  CHANNEL_UPDATE: 11,
  CHANNEL_DELETE: 12,
  CHANNEL_OVERWRITE_CREATE: 13,
  CHANNEL_OVERWRITE_UPDATE: 14,
  CHANNEL_OVERWRITE_DELETE: 15,
  MEMBER_KICK: 20,
  MEMBER_BAN_ADD: 22,
  MEMBER_BAN_REMOVE: 23,
  MEMBER_UPDATE: 24,
  MEMBER_ROLE_UPDATE: 25,
  ROLE_CREATE: 30,
  ROLE_UPDATE: 31,
  ROLE_DELETE: 32,
  INVITE_CREATE: 40,
  INVITE_DELETE: 42,
  EMOJI_CREATE: 60,
  EMOJI_UPDATE: 61,
  EMOJI_DELETE: 62,
  WEBHOOK_CREATE: 50,
  WEBHOOK_UPDATE: 51,
  WEBHOOK_DELETE: 52,
  MESSAGE_DELETE: 72,
  MESSAGE_BULK_DELETE: 73,
  AUTO_MODERATION_RULE_CREATE: 140,
  AUTO_MODERATION_RULE_UPDATE: 141,
  AUTO_MODERATION_RULE_DELETE: 142,
  AUTO_MODERATION_BLOCK_MESSAGE: 143,
  AUTO_MODERATION_FLAG_TO_CHANNEL: 144,
  AUTO_MODERATION_USER_COMMUNICATION_DISABLED: 145,
} as const;

export type AuditLogEventType = (typeof AuditLogEvent)[keyof typeof AuditLogEvent];

/** One changed field, as Discord serves it: a side that did not exist is left out. */
export interface AuditLogChange {
  key: string;
  old_value?: unknown;
  new_value?: unknown;
}

/** The fields of `keys` that differ between `before` and `after` (undefined on a side: that side is left out). */
export function changesOf<T extends object>(
  before: T | undefined,
  after: T | undefined,
  keys: readonly (keyof T & string)[],
): AuditLogChange[] {
  const changes: AuditLogChange[] = [];
  for (const key of keys) {
    const old = before?.[key];
    const now = after?.[key];
    if (JSON.stringify(old) === JSON.stringify(now)) continue;
    const change: AuditLogChange = { key };
    if (old !== undefined) change.old_value = old;
    if (now !== undefined) change.new_value = now;
    changes.push(change);
  }
  return changes;
}
