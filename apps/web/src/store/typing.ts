import type { MemberDto } from '@parley/common/protocol';
import type { State, Typing } from './state';

/** How long a typing indicator shows without a new TYPING_START. */
const TYPING_MS = 10_000;

export function typingStarted(s: State, channelId: string, userId: string, member?: MemberDto): State {
  if (userId === s.me?.id) return s;
  const entry: Typing = { until: Date.now() + TYPING_MS, ...(member ? { member } : {}) };
  return {
    ...s,
    typing: {
      ...s.typing,
      [channelId]: { ...s.typing[channelId], [userId]: entry },
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
    const alive: Record<string, Typing> = {};
    for (const [userId, entry] of Object.entries(users)) {
      if (entry.until > now) alive[userId] = entry;
      else changed = true;
    }
    if (Object.keys(alive).length > 0) typing[channelId] = alive;
  }
  return changed ? { ...s, typing } : s;
}
