import type { State } from './state';

/** How long a typing indicator shows without a new TYPING_START. */
const TYPING_MS = 10_000;

export function typingStarted(s: State, channelId: string, userId: string): State {
  if (userId === s.me?.id) return s;
  return {
    ...s,
    typing: {
      ...s.typing,
      [channelId]: { ...s.typing[channelId], [userId]: Date.now() + TYPING_MS },
    },
  };
}

/** A message from someone ends their indicator in that channel. */
export function typingStopped(s: State, channelId: string, userId: string): State {
  const typing = s.typing[channelId];
  if (!typing?.[userId]) return s;
  const rest = { ...typing };
  delete rest[userId];
  return { ...s, typing: { ...s.typing, [channelId]: rest } };
}

export function expireTyping(s: State, now: number): State {
  let changed = false;
  const typing: State['typing'] = {};
  for (const [channelId, users] of Object.entries(s.typing)) {
    const alive: Record<string, number> = {};
    for (const [userId, until] of Object.entries(users)) {
      if (until > now) alive[userId] = until;
      else changed = true;
    }
    if (Object.keys(alive).length > 0) typing[channelId] = alive;
  }
  return changed ? { ...s, typing } : s;
}
