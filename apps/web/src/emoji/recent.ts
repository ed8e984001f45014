const KEY = 'parley.recent-emoji';
const MAX = 24;

/** Emoji this browser used last, newest first (reactions and composer alike). */
export function recentEmoji(): string[] {
  try {
    const list: unknown = JSON.parse(localStorage.getItem(KEY) ?? '[]');
    return Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string').slice(0, MAX) : [];
  } catch {
    return [];
  }
}

export function rememberEmoji(text: string): void {
  const list = [text, ...recentEmoji().filter((x) => x !== text)].slice(0, MAX);
  localStorage.setItem(KEY, JSON.stringify(list));
}
