import type { EmojiDto, PublicUser } from '@parley/common/protocol';
import { useEffect, useId, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { editLastOwn, sendMessage, setReplyTo, stoppedTyping, typing } from '../actions';
import { draftFor, saveDraft } from '../drafts';
import { useStore } from '../store';
import { emojiImageUrl } from '../emoji/custom';
import { displayName, emojiQuery, mentionQuery } from '../text';
import { EmojiPicker } from './EmojiPicker';
import { IconClip, IconSend, IconSmile } from './icons';

const MAX = 4000;
const MAX_FILES = 10;
const NO_EMOJI: EmojiDto[] = [];
/** A custom emoji picked from the picker (`<:name:id>`): written as `:name:` like Discord, encoded on send. */
const CUSTOM_TEXT = /^<a?:([A-Za-z0-9_]{1,32}):\d{1,20}>$/;

type Suggestion =
  { kind: 'user'; id: string; user: PublicUser } | { kind: 'emoji'; id: string; emoji: EmojiDto };

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Files chosen for the next message, with image previews (local blob: URLs, nothing is uploaded yet). */
function FileTray({ files, onRemove }: { files: File[]; onRemove: (f: File) => void }) {
  const urls = useMemo(
    () => files.map((f) => (f.type.startsWith('image/') ? URL.createObjectURL(f) : '')),
    [files],
  );
  useEffect(() => () => urls.forEach((u) => u && URL.revokeObjectURL(u)), [urls]);
  return (
    <ul className="file-tray" aria-label="Files to send">
      {files.map((f, i) => (
        <li key={`${f.name}-${i}`}>
          {urls[i] ? (
            <img src={urls[i]} alt="" />
          ) : (
            <span className="file-icon" aria-hidden="true">
              📄
            </span>
          )}
          <span className="file-name">{f.name}</span>
          <span className="muted">{size(f.size)}</span>
          <button
            type="button"
            className="icon-button"
            aria-label={`Remove ${f.name}`}
            onClick={() => onRemove(f)}
          >
            ×
          </button>
        </li>
      ))}
    </ul>
  );
}

/**
 * The message box: Enter sends, Shift+Enter starts a new line, "@" suggests people to mention and ":" the
 * guild's custom emoji (arrow keys to choose, Enter or Tab to insert, Escape to dismiss).
 */
export function Composer({
  channelId,
  label,
  people,
  disabledReason,
  canAttach,
}: {
  channelId: string;
  label: string;
  people: PublicUser[];
  disabledReason: string | null;
  canAttach: boolean;
}) {
  const [text, setTextState] = useState(() => draftFor(channelId));
  const setText = (next: string) => {
    setTextState(next);
    saveDraft(channelId, next);
  };
  const replyTo = useStore((s) => s.replyTo[channelId]);
  const emojis =
    useStore((s) => {
      for (const g of Object.values(s.guilds))
        if (g.channels.some((c) => c.id === channelId)) return g.emojis;
      return undefined;
    }) ?? NO_EMOJI;
  const [picking, setPicking] = useState(false);
  const emojiButton = useRef<HTMLButtonElement>(null);
  // A caret position to restore after React has rendered the text it belongs to (set once, then cleared).
  const pendingCaret = useRef<number | null>(null);
  const [files, setFiles] = useState<File[]>([]);
  const [dragging, setDragging] = useState(false);
  const addFiles = (list: FileList | File[] | null) => {
    if (!list || !canAttach) return;
    const added = [...list];
    if (added.length > 0) setFiles((current) => [...current, ...added].slice(0, MAX_FILES));
  };
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

  // Before the browser handles another key: setting it later (a frame on) would move the caret back over
  // whatever was typed meanwhile, scrambling fast typing after a mention was picked.
  useLayoutEffect(() => {
    const pos = pendingCaret.current;
    if (pos === null || !ref.current) return;
    pendingCaret.current = null;
    ref.current.setSelectionRange(pos, pos);
  }, [text]);

  // Replying moves you to the composer.
  useEffect(() => {
    if (replyTo) ref.current?.focus();
  }, [replyTo]);

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, Math.round(window.innerHeight * 0.4))}px`;
  }, [text]);

  const query = mentionQuery(text, caret) ?? emojiQuery(text, caret);
  const suggestions = useMemo((): Suggestion[] => {
    if (!query || dismissed === query.start) return [];
    if (text[query.start] === ':')
      return emojis
        .filter((e) => e.name.toLowerCase().includes(query.query))
        .sort(
          (a, b) =>
            Number(!a.name.toLowerCase().startsWith(query.query)) -
            Number(!b.name.toLowerCase().startsWith(query.query)),
        )
        .slice(0, 8)
        .map((emoji) => ({ kind: 'emoji', id: emoji.id, emoji }));
    return people
      .filter(
        (p) =>
          p.username.toLowerCase().startsWith(query.query) ||
          (p.display_name ?? '').toLowerCase().startsWith(query.query),
      )
      .slice(0, 8)
      .map((user) => ({ kind: 'user', id: user.id, user }));
  }, [people, emojis, text, query, dismissed]);
  const open = suggestions.length > 0;
  const current = open ? Math.min(active, suggestions.length - 1) : -1;

  const insert = (picked: Suggestion) => {
    if (!query) return;
    const before = text.slice(0, query.start);
    const after = text.slice(caret);
    const word = picked.kind === 'user' ? `@${picked.user.username}` : `:${picked.emoji.name}:`;
    const next = `${before}${word} ${after}`;
    const pos = before.length + word.length + 1;
    pendingCaret.current = pos;
    setText(next);
    setCaret(pos);
    setActive(0);
  };

  const insertEmoji = (picked: string) => {
    const custom = CUSTOM_TEXT.exec(picked);
    const emoji = custom ? `:${custom[1]}:` : picked;
    const el = ref.current;
    const start = el?.selectionStart ?? text.length;
    const end = el?.selectionEnd ?? text.length;
    const pos = start + emoji.length;
    pendingCaret.current = pos;
    setText(text.slice(0, start) + emoji + text.slice(end));
    setCaret(pos);
    setPicking(false);
    el?.focus();
  };

  const send = () => {
    const content = text.trim();
    if ((!content && files.length === 0) || content.length > MAX) return;
    sendMessage(channelId, content, files, replyTo ?? null);
    setReplyTo(channelId, null);
    stoppedTyping(channelId);
    setText('');
    setFiles([]);
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
      return;
    }
    // Up in an empty box edits your last message here, as on Discord.
    if (e.key === 'ArrowUp' && !text && files.length === 0 && !e.shiftKey && !e.altKey) {
      if (editLastOwn(channelId)) e.preventDefault();
      return;
    }
    if (e.key === 'Escape' && replyTo) {
      e.preventDefault();
      setReplyTo(channelId, null);
    }
  };

  const disabled = disabledReason !== null;
  return (
    <form
      className={dragging ? 'composer dragging' : 'composer'}
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
      onDragOver={(e) => {
        if (!canAttach || !e.dataTransfer.types.includes('Files')) return;
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => {
        if (!canAttach) return;
        e.preventDefault();
        setDragging(false);
        addFiles(e.dataTransfer.files);
      }}
    >
      {replyTo && (
        <div className="reply-bar">
          <span>
            Replying to <strong>{displayName(replyTo.author)}</strong>
          </span>
          <button
            type="button"
            className="icon-button"
            aria-label="Cancel reply"
            onClick={() => setReplyTo(channelId, null)}
          >
            ×
          </button>
        </div>
      )}
      {files.length > 0 && (
        <FileTray files={files} onRemove={(f) => setFiles(files.filter((x) => x !== f))} />
      )}
      {canAttach && !disabled && (
        <label className="icon-button attach" title="Attach files">
          <input
            type="file"
            multiple
            className="sr-only"
            aria-label="Attach files"
            onChange={(e) => {
              addFiles(e.target.files);
              e.target.value = '';
            }}
          />
          <IconClip />
        </label>
      )}
      {open && (
        <ul
          className="mention-list"
          id={listId}
          role="listbox"
          aria-label={suggestions[0].kind === 'user' ? 'People to mention' : 'Emoji'}
        >
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
              {p.kind === 'user' ? (
                <>
                  <strong>{displayName(p.user)}</strong> <span className="muted">@{p.user.username}</span>
                </>
              ) : (
                <>
                  <img src={emojiImageUrl(p.emoji.id, p.emoji.animated, 48)} alt="" width={20} height={20} />{' '}
                  <strong>:{p.emoji.name}:</strong>
                </>
              )}
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
        onPaste={(e) => {
          if (e.clipboardData.files.length === 0) return;
          e.preventDefault();
          addFiles(e.clipboardData.files);
        }}
      />
      {!disabled && (
        <button
          ref={emojiButton}
          type="button"
          className="icon-button emoji-button"
          aria-label="Insert emoji"
          aria-haspopup="dialog"
          aria-expanded={picking}
          onClick={() => setPicking(!picking)}
        >
          <IconSmile />
        </button>
      )}
      {picking && (
        <EmojiPicker
          anchor={emojiButton.current}
          label="Insert emoji"
          onPick={insertEmoji}
          onClose={() => setPicking(false)}
        />
      )}
      <button
        type="submit"
        className="send"
        aria-label="Send"
        disabled={disabled || (!text.trim() && files.length === 0)}
      >
        <IconSend />
      </button>
    </form>
  );
}
