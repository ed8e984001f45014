import { useSyncExternalStore } from 'react';

export type Route =
  | { name: 'login' }
  | { name: 'register' }
  | { name: 'forgot' }
  | { name: 'reset' }
  | { name: 'verify' }
  | { name: 'oidc' }
  | { name: 'invite'; code: string }
  | { name: 'home'; channelId: string | null; messageId: string | null }
  | { name: 'guild'; guildId: string; channelId: string | null; messageId: string | null };

export function parseRoute(path: string): Route {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'login') return { name: 'login' };
  if (parts[0] === 'register') return { name: 'register' };
  // The mailed links: /reset#token=..., /verify#token=... (the token never reaches a server log).
  if (parts[0] === 'forgot') return { name: 'forgot' };
  if (parts[0] === 'reset') return { name: 'reset' };
  if (parts[0] === 'verify') return { name: 'verify' };
  // Single sign-on's landing page: /oidc#token=... (or #link_ticket=..., #mfa_ticket=..., #error=...).
  if (parts[0] === 'oidc') return { name: 'oidc' };
  if (parts[0] === 'invite' && parts[1]) return { name: 'invite', code: parts[1] };
  if (parts[0] === 'channels' && parts[1] && parts[1] !== '@me')
    return { name: 'guild', guildId: parts[1], channelId: parts[2] ?? null, messageId: parts[3] ?? null };
  if (parts[0] === 'channels' && parts[1] === '@me')
    return { name: 'home', channelId: parts[2] ?? null, messageId: parts[3] ?? null };
  return { name: 'home', channelId: null, messageId: null };
}

const listeners = new Set<() => void>();
let current = location.pathname;

window.addEventListener('popstate', () => {
  current = location.pathname;
  listeners.forEach((l) => l());
});

export function navigate(path: string, replace = false): void {
  if (path === current) return;
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  current = path;
  listeners.forEach((l) => l());
}

export function usePath(): string {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => current,
  );
}

export const channelPath = (guildId: string | undefined, channelId: string) =>
  `/channels/${guildId ?? '@me'}/${channelId}`;

/** Discord's message link: the channel opened at that message (history around it, the message marked). */
export const messagePath = (guildId: string | undefined, channelId: string, messageId: string) =>
  `${channelPath(guildId, channelId)}/${messageId}`;
