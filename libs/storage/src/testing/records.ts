import type { ChannelRecord, MessageRecord, Storage, UserRecord } from '../contract';

// The record fixtures of every storage test (the contract suite, the driver and multi-DC suites, the export
// format): each record with plain defaults, the ids and what a test is about given by the test. And the
// one-word search those tests ask.

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

/**
 * The ids `storage` finds for one whole word in `channelIds` (of `guildId`, or DMs when null), newest first: the
 * first page of 25, no other filter.
 */
export async function searchWord(
  storage: Pick<Storage, 'messageSearch'>,
  guildId: string | null,
  channelIds: string[],
  word: string,
): Promise<string[]> {
  const result = await storage.messageSearch.search({
    guildId,
    channelIds,
    terms: [{ tokens: [word], prefix: false }],
    authorIds: [],
    mentions: [],
    has: [],
    offset: 0,
    limit: 25,
  });
  return result.messages.map((m) => m.id);
}
