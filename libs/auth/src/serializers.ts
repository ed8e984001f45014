import { isoTime, type PublicUser, type SelfUser } from '@parley/common';
import type { UserRecord } from '@parley/storage';

export function toPublicUser(user: UserRecord): PublicUser {
  const base = { id: user.id, username: user.username, display_name: user.displayName, avatar: user.avatar };
  return user.botOwnerId ? { ...base, bot: true } : base;
}

export function toSelfUser(user: UserRecord): SelfUser {
  return {
    ...toPublicUser(user),
    email: user.email,
    verified: user.emailVerified,
    mfa_enabled: user.mfaSecret !== null,
    created_at: isoTime(user.createdAt),
  };
}

/** Stands in for a user whose record is gone, so history stays renderable. */
export function deletedUser(id: string): PublicUser {
  return { id, username: 'deleted_user', display_name: null, avatar: null };
}
