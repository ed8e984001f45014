const KEY = 'parley.drafts';

/**
 * Unsent text per channel, so switching channel (which replaces the composer) loses nothing. Kept for the tab's
 * life in sessionStorage: a reload keeps drafts, another tab or a new sign-in starts clean.
 */
const drafts = new Map<string, string>(readAll());

function readAll(): [string, string][] {
  try {
    const raw: unknown = JSON.parse(sessionStorage.getItem(KEY) ?? '{}');
    if (!raw || typeof raw !== 'object') return [];
    return Object.entries(raw as Record<string, unknown>).filter(
      (e): e is [string, string] => typeof e[1] === 'string',
    );
  } catch {
    return [];
  }
}

export function draftFor(channelId: string): string {
  return drafts.get(channelId) ?? '';
}

export function saveDraft(channelId: string, text: string): void {
  if (text) drafts.set(channelId, text);
  else drafts.delete(channelId);
  try {
    sessionStorage.setItem(KEY, JSON.stringify(Object.fromEntries(drafts)));
  } catch {
    // Storage full or disabled: the draft still lives in memory for this page.
  }
}

export function clearDrafts(): void {
  drafts.clear();
  sessionStorage.removeItem(KEY);
}
