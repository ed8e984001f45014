import type { PublicUser } from '@parley/common/protocol';
import { useEffect, useId, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { sendMessage, stoppedTyping, typing } from '../actions';
import { displayName, mentionQuery } from '../text';
import { IconSend } from './icons';

const MAX = 4000;

/**
 * The message box: Enter sends, Shift+Enter starts a new line, "@" suggests people to mention
 * (arrow keys to choose, Enter or Tab to insert, Escape to dismiss).
 */
export function Composer({
  channelId,
  label,
  people,
  disabledReason,
}: {
  channelId: string;
  label: string;
  people: PublicUser[];
  disabledReason: string | null;
}) {
  const [text, setText] = useState('');
  const [caret, setCaret] = useState(0);
  const [active, setActive] = useState(0);
  const [dismissed, setDismissed] = useState<number | null>(null);
  const ref = useRef<HTMLTextAreaElement>(null);
  const listId = useId();
  const inputId = useId();

  useEffect(() => {
    // Wide screens: a new channel is ready to type in. Phones: do not pop the keyboard up unasked.
    if (window.matchMedia('(min-width: 768px)').matches) ref.current?.focus();
  }, [channelId]);

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, Math.round(window.innerHeight * 0.4))}px`;
  }, [text]);

  const query = mentionQuery(text, caret);
  const suggestions = useMemo(() => {
    if (!query || dismissed === query.start) return [];
    return people
      .filter(
        (p) =>
          p.username.toLowerCase().startsWith(query.query) ||
          (p.display_name ?? '').toLowerCase().startsWith(query.query),
      )
      .slice(0, 8);
  }, [people, query, dismissed]);
  const open = suggestions.length > 0;
  const current = open ? Math.min(active, suggestions.length - 1) : -1;

  const insert = (user: PublicUser) => {
    if (!query) return;
    const before = text.slice(0, query.start);
    const after = text.slice(caret);
    const next = `${before}@${user.username} ${after}`;
    const pos = before.length + user.username.length + 2;
    setText(next);
    setCaret(pos);
    setActive(0);
    requestAnimationFrame(() => ref.current?.setSelectionRange(pos, pos));
  };

  const send = () => {
    const content = text.trim();
    if (!content || content.length > MAX) return;
    sendMessage(channelId, content);
    stoppedTyping(channelId);
    setText('');
    setCaret(0);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.nativeEvent.isComposing) return;
    if (open) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const n = suggestions.length;
        setActive((current + (e.key === 'ArrowDown' ? 1 : n - 1)) % n);
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault();
        insert(suggestions[current]);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        setDismissed(query?.start ?? null);
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      send();
    }
  };

  const disabled = disabledReason !== null;
  return (
    <form
      className="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      {open && (
        <ul className="mention-list" id={listId} role="listbox" aria-label="People to mention">
          {suggestions.map((p, i) => (
            <li
              key={p.id}
              id={`${listId}-${p.id}`}
              role="option"
              aria-selected={i === current}
              onMouseDown={(e) => {
                e.preventDefault();
                insert(p);
              }}
            >
              <strong>{displayName(p)}</strong> <span className="muted">@{p.username}</span>
            </li>
          ))}
        </ul>
      )}
      <label htmlFor={inputId} className="sr-only">
        {label}
      </label>
      <textarea
        id={inputId}
        ref={ref}
        rows={1}
        value={text}
        disabled={disabled}
        placeholder={disabledReason ?? `${label}`}
        maxLength={MAX}
        aria-autocomplete="list"
        aria-controls={open ? listId : undefined}
        aria-activedescendant={open ? `${listId}-${suggestions[current].id}` : undefined}
        aria-keyshortcuts="Enter Shift+Enter"
        onChange={(e) => {
          setText(e.target.value);
          setCaret(e.target.selectionStart);
          if (e.target.value.trim()) typing(channelId);
        }}
        onSelect={(e) => setCaret(e.currentTarget.selectionStart)}
        onKeyDown={onKeyDown}
      />
      <button type="submit" className="send" aria-label="Send" disabled={disabled || !text.trim()}>
        <IconSend />
      </button>
    </form>
  );
}
