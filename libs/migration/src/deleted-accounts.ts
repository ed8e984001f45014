import {
  type BulkRecords,
  type BulkStorage,
  type BulkTable,
  deletedUserFields,
  isDeletedUser,
  type ScanPage,
} from '@parley/storage';

/** Something personal a deleted account left behind. */
export interface Leftover {
  userId: string;
  table: BulkTable;
  what: string;
}

const PAGE = 2000;

async function* rows<T extends BulkTable>(bulk: BulkStorage, table: T): AsyncGenerator<BulkRecords[T]> {
  let cursor: string | null = null;
  do {
    const page: ScanPage<BulkRecords[T]> = await bulk.scan(table, cursor, PAGE);
    yield* page.records;
    cursor = page.cursor;
  } while (cursor !== null);
}

/**
 * `parley verify --deleted-accounts`: reads a database (read-only) for anything personal of the accounts deleted
 * there (docs/accounts.md#deleting-an-account): a deleted user's row must hold nothing but its id under "Deleted
 * User", and no session, membership, notification setting or single sign-on identity may name it. With
 * `messages` (`instance.account_deletion: delete`) no message may either: a whole-table read, as every
 * check of this offline tool is.
 */
export async function findDeletedAccountLeftovers(
  bulk: BulkStorage,
  options: { messages?: boolean } = {},
): Promise<{ deleted: number; leftovers: Leftover[] }> {
  const deleted = new Set<string>();
  const leftovers: Leftover[] = [];
  for await (const user of rows(bulk, 'users')) {
    if (!isDeletedUser(user)) continue;
    deleted.add(user.id);
    const gone = deletedUserFields(user.id);
    const kept = [
      user.username !== gone.username && 'username',
      user.displayName !== gone.displayName && 'display name',
      user.avatar !== null && 'avatar',
      user.mfaSecret !== null && 'two-factor secret',
      user.mfaBackupCodes.length > 0 && 'backup codes',
    ].filter((field): field is string => field !== false);
    for (const field of kept) leftovers.push({ userId: user.id, table: 'users', what: field });
  }
  if (deleted.size === 0) return { deleted: 0, leftovers };
  const named = async <T extends BulkTable>(
    table: T,
    userOf: (r: BulkRecords[T]) => string,
    what: string,
  ) => {
    for await (const record of rows(bulk, table)) {
      const userId = userOf(record);
      if (deleted.has(userId)) leftovers.push({ userId, table, what });
    }
  };
  await named('tokens', (t) => t.userId, 'a session token');
  await named('members', (m) => m.userId, 'a guild membership');
  await named('user_guild_settings', (s) => s.userId, 'notification settings');
  await named('user_identities', (i) => i.userId, 'a single sign-on identity');
  if (options.messages) await named('messages', (m) => m.authorId, 'a message');
  return { deleted: deleted.size, leftovers };
}
