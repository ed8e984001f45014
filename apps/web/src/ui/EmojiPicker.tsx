import { useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { createPortal } from 'react-dom';
import {
  customEntry,
  emojiSources,
  loadSource,
  recentEmoji,
  rememberEmoji,
  searchEmoji,
  type EmojiEntry,
} from '../emoji';

const QUICK = ['👍', '❤️', '😂', '🎉', '😮', '😢', '🙏', '👀'];
const SHOWN = 160;
const WIDTH = 332;
const HEIGHT = 380;

/** Loads every registered source once the picker opens; sections appear as they arrive. */
function useSections(): { label: string; entries: readonly EmojiEntry[] }[] {
  const [sections, setSections] = useState<{ id: string; label: string; entries: readonly EmojiEntry[] }[]>(
    [],
  );
  useEffect(() => {
    let live = true;
    for (const source of emojiSources()) {
      loadSource(source).then(
        (entries) => {
          if (live)
            setSections((all) => [
              ...all.filter((s) => s.id !== source.id),
              { id: source.id, label: source.label, entries },
            ]);
        },
        () => undefined,
      );
    }
    return () => {
      live = false;
    };
  }, []);
  return sections;
}

/**
 * A searchable emoji picker in a layer of its own (a portal placed next to the button that opened it, flipped to
 * whichever side has room), so no message, scroller or containment can clip it. Typing filters; Enter picks the
 * first match; arrows move; Escape closes and returns focus to the opener.
 */
export function EmojiPicker({
  anchor,
  label,
  onPick,
  onClose,
}: {
  anchor: HTMLElement | null;
  label: string;
  onPick: (emoji: string) => void;
  onClose: () => void;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const input = useRef<HTMLInputElement>(null);
  const [query, setQuery] = useState('');
  const [place, setPlace] = useState<{ left: number; top: number } | null>(null);
  const sections = useSections();
  const close = useRef(onClose);
  close.current = onClose;
  const recent = useMemo(() => {
    const list = recentEmoji();
    // A recent custom emoji is kept as its text (`<:name:id>`) and shown as its image.
    return (list.length > 0 ? list : QUICK).map(
      (text): EmojiEntry => customEntry(text) ?? { text, name: text, keywords: [] },
    );
  }, []);

  useLayoutEffect(() => {
    const r = anchor?.getBoundingClientRect();
    const vw = window.innerWidth;
    const vh = window.innerHeight;
    if (!r) return setPlace({ left: Math.max(8, (vw - WIDTH) / 2), top: Math.max(8, (vh - HEIGHT) / 2) });
    const below = vh - r.bottom;
    const top = below >= HEIGHT + 8 || below >= r.top ? r.bottom + 4 : r.top - HEIGHT - 4;
    const left = Math.min(Math.max(8, r.right - WIDTH), vw - WIDTH - 8);
    setPlace({ left: Math.max(8, left), top: Math.max(8, Math.min(top, vh - HEIGHT - 8)) });
  }, [anchor]);

  useEffect(() => {
    input.current?.focus();
    const away = (e: MouseEvent) => {
      if (!ref.current?.contains(e.target as Node) && !anchor?.contains(e.target as Node)) close.current();
    };
    // Escape closes it wherever focus is (the opener keeps it when the picker opens from a click on it).
    const escape = (e: globalThis.KeyboardEvent) => {
      if (e.key !== 'Escape' || e.defaultPrevented) return;
      e.preventDefault();
      close.current();
      anchor?.focus();
    };
    document.addEventListener('mousedown', away);
    document.addEventListener('keydown', escape);
    return () => {
      document.removeEventListener('mousedown', away);
      document.removeEventListener('keydown', escape);
    };
  }, [anchor]);

  const results = useMemo(
    () => (query.trim() ? sections.flatMap((s) => searchEmoji(s.entries, query)).slice(0, SHOWN) : []),
    [sections, query],
  );

  const pick = (text: string) => {
    rememberEmoji(text);
    onPick(text);
  };
  const finish = () => {
    onClose();
    anchor?.focus();
  };

  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Escape') {
      e.stopPropagation();
      e.preventDefault();
      finish();
      return;
    }
    if (e.key === 'Enter' && e.target === input.current) {
      e.preventDefault();
      const first = results[0] ?? (query.trim() ? undefined : recent[0]);
      if (first) pick(first.text);
      return;
    }
    if (!['ArrowRight', 'ArrowLeft', 'ArrowDown', 'ArrowUp'].includes(e.key)) return;
    const buttons = [...(ref.current?.querySelectorAll<HTMLButtonElement>('button.emoji-cell') ?? [])];
    if (buttons.length === 0) return;
    const i = buttons.indexOf(document.activeElement as HTMLButtonElement);
    if (i < 0 && e.key !== 'ArrowDown') return;
    e.preventDefault();
    const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: 8, ArrowUp: -8 }[e.key] ?? 0;
    buttons[Math.min(buttons.length - 1, Math.max(0, i < 0 ? 0 : i + step))].focus();
  };

  const cells = (entries: readonly EmojiEntry[]) => (
    <div className="emoji-grid" role="group">
      {entries.map((e) => (
        <button
          key={e.text}
          type="button"
          className="emoji-cell"
          aria-label={e.imageUrl ? `:${e.name}:` : e.name === e.text ? e.text : `${e.text} ${e.name}`}
          title={e.name}
          onClick={() => pick(e.text)}
        >
          {e.imageUrl ? <img src={e.imageUrl} alt="" width={24} height={24} /> : e.text}
        </button>
      ))}
    </div>
  );

  return createPortal(
    <div
      ref={ref}
      className="emoji-picker"
      role="dialog"
      aria-label={label}
      style={place ? { left: place.left, top: place.top } : { visibility: 'hidden' }}
      onKeyDown={onKey}
    >
      <input
        ref={input}
        type="search"
        className="emoji-search"
        aria-label="Search emoji"
        placeholder="Search emoji"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
      />
      <div className="emoji-scroll">
        {query.trim() ? (
          <section aria-label="Results">
            {results.length > 0 ? cells(results) : <p className="muted pad">No emoji match.</p>}
          </section>
        ) : (
          <>
            <section aria-label="Recent">
              <h3>Recent</h3>
              {cells(recent)}
            </section>
            {sections.map((s) => (
              <section key={s.label} aria-label={s.label}>
                <h3>{s.label}</h3>
                {cells(s.entries.slice(0, SHOWN))}
              </section>
            ))}
          </>
        )}
      </div>
    </div>,
    document.body,
  );
}
