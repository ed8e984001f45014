import type { ChannelDto, GuildFullDto, MessageDto, PublicUser } from '@parley/common/protocol';
import { Fragment, useEffect, useRef, useState, type FormEvent } from 'react';
import { api } from '../actions';
import { ApiError } from '../api';
import { messagePath, navigate } from '../router';
import { parseSearch, type SearchResults } from '../search';
import { displayName, formatFull } from '../text';

const PAGE = 25;

/** The words of the query, lower-cased, for marking them in results. */
function queryWords(content: string | null): string[] {
  return (content ?? '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 1);
}

/** Message text with the searched words marked (React escapes everything; no HTML passes through). */
function Highlighted({ text, words }: { text: string; words: string[] }) {
  if (words.length === 0) return <>{text}</>;
  const parts = text.split(/([\p{L}\p{N}]+)/u);
  return (
    <>
      {parts.map((part, i) => {
        const lower = part.toLowerCase();
        const hit = words.some((w) => lower.startsWith(w));
        return hit ? <mark key={i}>{part}</mark> : <Fragment key={i}>{part}</Fragment>;
      })}
    </>
  );
}

function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 429) return 'Searching too fast: wait a moment and try again.';
    return Object.values(err.fields)[0]?.[0]?.message ?? err.message;
  }
  return 'Search failed';
}

/** Below this width the panel covers the chat: a jump closes it so the message can be seen. */
const NARROW = '(max-width: 1023px)';

/**
 * Search for one guild (all channels the user may read) or one DM: a box with Discord's filters (from:,
 * mentions:, in:, has:, before:, after:), newest hits first. A hit opens its channel in the chat view at
 * that message (its history around it, the message marked), as Discord's results do; the results stay.
 */
export function SearchPanel({
  guild,
  dm,
  people,
  onClose,
}: {
  guild?: GuildFullDto;
  dm?: ChannelDto;
  people: Pick<PublicUser, 'id' | 'username'>[];
  onClose: () => void;
}) {
  const [text, setText] = useState('');
  const [query, setQuery] = useState<URLSearchParams | null>(null);
  const [offset, setOffset] = useState(0);
  const [results, setResults] = useState<SearchResults | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [opened, setOpened] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);

  // Block bodies: Chromium's scroll methods now return a promise, which React would take for a cleanup.
  useEffect(() => {
    input.current?.focus();
  }, []);

  const channels = guild?.channels.filter((c) => c.type === 0) ?? [];
  const channelName = (id: string) => channels.find((c) => c.id === id)?.name ?? '';
  const words = queryWords(query?.get('content') ?? null);

  async function run(params: URLSearchParams, from: number) {
    const path = guild ? `/guilds/${guild.id}/messages/search` : `/channels/${dm?.id ?? ''}/messages/search`;
    const q = new URLSearchParams(params);
    q.set('offset', String(from));
    q.set('limit', String(PAGE));
    setBusy(true);
    setError(null);
    try {
      setResults(await api.request<SearchResults>('GET', `${path}?${q.toString()}`));
      setOffset(from);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    const parsed = parseSearch(text, people, channels);
    if (parsed.unknown.length > 0) {
      setError(`Not understood: ${parsed.unknown.join(', ')}`);
      return;
    }
    if (parsed.empty) return;
    setQuery(parsed.params);
    void run(parsed.params, 0);
  }

  function open(hit: MessageDto) {
    setOpened(hit.id);
    navigate(messagePath(guild?.id, hit.channel_id, hit.id));
    if (window.matchMedia(NARROW).matches) onClose();
  }

  return (
    <section className="search-panel" aria-label="Search messages">
      <header className="search-header">
        <form role="search" onSubmit={submit}>
          <input
            ref={input}
            type="search"
            aria-label={guild ? `Search ${guild.name}` : 'Search this conversation'}
            placeholder={
              guild ? 'Search… from: in: has: before: after:' : 'Search… from: has: before: after:'
            }
            value={text}
            maxLength={512}
            onChange={(e) => setText(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Escape') onClose();
            }}
          />
        </form>
        <button type="button" className="icon-button" aria-label="Close search" onClick={onClose}>
          ×
        </button>
      </header>
      <div className="search-status" role="status" aria-live="polite">
        {busy
          ? 'Searching…'
          : error
            ? error
            : results
              ? `${results.total_results >= 1000 ? '1,000+' : results.total_results} result${results.total_results === 1 ? '' : 's'}`
              : ''}
      </div>
      {results && (
        <>
          <ol className="search-results" aria-label="Search results">
            {results.messages.map(([m]) => (
              <li key={m.id} aria-current={m.id === opened ? 'true' : undefined}>
                <button
                  type="button"
                  className="search-result"
                  title="Jump to this message"
                  onClick={() => open(m)}
                >
                  <span className="search-meta">
                    <span className="search-author">{displayName(m.author)}</span>
                    {guild && <span className="search-channel">#{channelName(m.channel_id)}</span>}
                    <time dateTime={m.timestamp}>{formatFull(m.timestamp)}</time>
                  </span>
                  <span className="search-text">
                    <Highlighted text={m.content} words={words} />
                    {m.attachments.length > 0 && ` 📎 ${m.attachments.map((a) => a.filename).join(', ')}`}
                  </span>
                </button>
              </li>
            ))}
          </ol>
          <div className="search-pages">
            {offset > 0 && query && (
              <button type="button" onClick={() => void run(query, Math.max(0, offset - PAGE))}>
                Newer
              </button>
            )}
            {query && offset + PAGE < Math.min(results.total_results, 1000) && (
              <button type="button" onClick={() => void run(query, offset + PAGE)}>
                Older
              </button>
            )}
          </div>
        </>
      )}
    </section>
  );
}
