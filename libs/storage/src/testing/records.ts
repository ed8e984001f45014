import type { ChannelRecord, MessageRecord, UserRecord } from '../contract';

// The record fixtures of every storage test (the contract suite, the driver and multi-DC suites, the export
// format): each record with plain defaults, the ids and what a test is about given by the test.

/** A plain text message (no guild, attachments, mentions or edits) unless `overrides` say otherwise. */
export function messageRecord(
  fields: Pick<MessageRecord, 'id' | 'channelId' | 'authorId'> & Partial<MessageRecord>,
): MessageRecord {
  return {
    guildId: null,
    content: 'hello',
    editedAt: null,
    attachments: [],
    mentions: [],
    mentionRoles: [],
    mentionEveryone: false,
    pinned: false,
    type: 0,
    nonce: null,
    referenceId: null,
    embeds: [],
    flags: 0,
    ...fields,
  };
}

/** A user named after its id, with a placeholder password hash. */
export function userRecord(id: string, overrides: Partial<UserRecord> = {}): UserRecord {
  return {
    id,
    username: `u${id}`,
    email: `u${id}@example.test`,
    displayName: null,
    avatar: null,
    passwordHash: 'h',
    createdAt: Date.now(),
    botOwnerId: null,
    appFlags: 0,
    emailVerified: true,
    mfaSecret: null,
    mfaBackupCodes: [],
    admin: false,
    disabled: false,
    approvalPending: false,
    ...overrides,
  };
}

/** A guild's text channel called general, at the top, without overwrites. */
export function textChannelRecord(
  fields: Pick<ChannelRecord, 'id' | 'guildId'> & Partial<ChannelRecord>,
): ChannelRecord {
  return {
    type: 0,
    name: 'general',
    topic: null,
    parentId: null,
    position: 0,
    recipients: [],
    overwrites: [],
    ...fields,
  };
}
