import type { PublicUser } from '@parley/common/protocol';

/** Remembers the users a payload names (authors, mentions, members), keeping the map when nothing changed. */
export function withUsers(users: Record<string, PublicUser>, list: readonly (PublicUser | undefined)[]) {
  let out = users;
  for (const u of list) {
    if (!u) continue;
    const known = out[u.id];
    if (known && known.username === u.username && known.display_name === u.display_name) continue;
    if (out === users) out = { ...users };
    out[u.id] = { id: u.id, username: u.username, display_name: u.display_name, avatar: u.avatar };
  }
  return out;
}
