import type { ChannelDto, MemberDto, PublicUser } from '@parley/common/protocol';
import {
  Fragment,
  useCallback,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
  type KeyboardEvent,
} from 'react';
import {
  ackLatest,
  deleteMessages,
  jumpTo,
  loadLatest,
  loadNewer,
  loadOlder,
  loadPresent,
  setViewing,
  subscribeTyping,
} from '../actions';
import { roleColor } from '../perms';
import { emptyMessages, useStore, type ChannelMessages } from '../store';
import { continuesGroup, dayKey, displayName, formatDay, newerThan } from '../text';
import { Composer } from './Composer';
import { ConfirmDialog } from './Dialog';
import { MessageItem } from './Message';

function useTypingNames(channelId: string, members: Record<string, MemberDto> | undefined): string[] {
  const typing = useStore((s) => s.typing[channelId]);
  const users = useStore((s) => s.users);
  return useMemo(
    () =>
      Object.entries(typing ?? {}).map(([id, entry]) => {
        // The loaded members are kept current; else the member the event carried (the client loads at most
        // 10,000 members of a guild, and they may still be loading).
        const member = members?.[id] ?? entry.member;
        const user = users[id] ?? member?.user;
        return user ? displayName(user, member?.nick) : 'Someone';
      }),
    [typing, users, members],
  );
}

function TypingIndicator({ names }: { names: string[] }) {
  let text = '';
  if (names.length === 1) text = `${names[0]} is typing…`;
  else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
  else if (names.length > 2) text = 'Several people are typing…';
  return (
    <div className="typing" aria-live="polite" aria-atomic="true">
      {text && (
        <>
          <span className="typing-dots" aria-hidden="true">
            <i />
            <i />
            <i />
          </span>
          {text}
        </>
      )}
    </div>
  );
}

function isVisible(): boolean {
  return document.visibilityState === 'visible';
}

/**
 * The scrolling history: loads older pages near the top, sticks to the bottom while you are there. Opened at
 * a message (`highlight`), it centres and marks that message once it is loaded, and loads newer pages near
 * the bottom until it reaches the present.
 */
function MessageList({
  channel,
  cm,
  highlight,
  label,
  meId,
  members,
  canManage,
  canReact,
  canReply,
  selection,
  onSelect,
}: {
  channel: ChannelDto;
  cm: ChannelMessages;
  highlight: string | null;
  label: string;
  meId: string | undefined;
  members: Record<string, MemberDto> | undefined;
  canManage: boolean;
  canReact: boolean;
  canReply: boolean;
  selection: ReadonlySet<string> | null;
  onSelect: (id: string, on: boolean) => void;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const stack = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const snapshot = useRef({ height: 0, top: 0, first: '', last: '' });
  const [behind, setBehind] = useState(false);
  // Where "new" starts: the read state when the channel was opened.
  const marker = useStore((s) => s.readStates[channel.id]?.last_message_id ?? null);
  const [readMarker] = useState(marker);
  // Authors' names take their highest coloured role's colour, as on Discord (none in a DM).
  const roles = useStore((s) => (channel.guild_id ? s.guilds[channel.guild_id]?.roles : undefined));
  const items = cm.items;

  // Nothing is read while the loaded history stops short of the present.
  const gap = cm.newerGap;
  const ack = useCallback(() => {
    if (atBottom.current && !gap && isVisible()) ackLatest(channel.id);
  }, [channel.id, gap]);
  // The highlighted message this list has already scrolled to (once per jump).
  const centred = useRef<string | null>(null);

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const first = items[0]?.id ?? '';
    const last = items[items.length - 1]?.id ?? '';
    const prev = snapshot.current;
    if (prev.first && first !== prev.first && last === prev.last) {
      // Older history arrived above: keep what the reader was looking at in place.
      el.scrollTop = prev.top + (el.scrollHeight - prev.height);
    } else if (atBottom.current) {
      el.scrollTop = el.scrollHeight;
    } else if (last !== prev.last) {
      setBehind(true);
    }
    snapshot.current = { height: el.scrollHeight, top: el.scrollTop, first, last };
  }, [items]);

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el || !highlight || centred.current === highlight) return;
    const target = el.querySelector<HTMLElement>(`article[data-message-id="${highlight}"]`);
    if (!target) return;
    centred.current = highlight;
    atBottom.current = false;
    // Block body: Chromium's scroll methods return a promise, which React would take for a cleanup.
    void target.scrollIntoView({ block: 'center' });
    snapshot.current = { ...snapshot.current, height: el.scrollHeight, top: el.scrollTop };
  }, [items, highlight]);

  useEffect(() => {
    ack();
    const el = ref.current;
    // Too few messages to scroll: fetch older ones until the view is full or history ends.
    if (el && cm.loaded && !cm.loading && cm.hasMore && el.scrollHeight <= el.clientHeight + 50)
      void loadOlder(channel.id);
    else if (el && cm.loaded && !cm.loading && gap && el.scrollHeight - el.scrollTop - el.clientHeight < 600)
      void loadNewer(channel.id);
  }, [items, cm.loaded, cm.loading, cm.hasMore, gap, channel.id, ack]);

  // Content that changes height after rendering (long messages laid out lazily, reactions, edits) must not
  // pull a reader who is at the bottom away from it.
  useEffect(() => {
    const el = ref.current;
    const inner = stack.current;
    if (!el || !inner) return;
    const observer = new ResizeObserver(() => {
      if (atBottom.current) el.scrollTop = el.scrollHeight;
      snapshot.current = { ...snapshot.current, height: el.scrollHeight, top: el.scrollTop };
    });
    observer.observe(inner);
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    const onVisible = () => ack();
    document.addEventListener('visibilitychange', onVisible);
    window.addEventListener('focus', onVisible);
    return () => {
      document.removeEventListener('visibilitychange', onVisible);
      window.removeEventListener('focus', onVisible);
    };
  }, [ack]);

  const onScroll = () => {
    const el = ref.current;
    if (!el) return;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 48;
    snapshot.current = { ...snapshot.current, height: el.scrollHeight, top: el.scrollTop };
    if (atBottom.current) {
      setBehind(false);
      ack();
    }
    if (el.scrollTop < 600) void loadOlder(channel.id);
    if (gap && el.scrollHeight - el.scrollTop - el.clientHeight < 600) void loadNewer(channel.id);
  };

  const jumpToBottom = () => {
    const el = ref.current;
    if (!el) return;
    if (gap) void loadPresent(channel.id);
    el.scrollTop = el.scrollHeight;
    atBottom.current = true;
    setBehind(false);
    ack();
  };

  // Arrow keys move between messages; Tab from a message reaches its actions.
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (e.key !== 'ArrowUp' && e.key !== 'ArrowDown' && e.key !== 'Home' && e.key !== 'End') return;
    const target = e.target as HTMLElement;
    if (target.closest('textarea, input, [role="menu"]')) return;
    const list = [...(ref.current?.querySelectorAll<HTMLElement>('article.message') ?? [])];
    if (list.length === 0) return;
    const current = target.closest<HTMLElement>('article.message');
    let i = current ? list.indexOf(current) : list.length;
    if (e.key === 'ArrowUp') i = Math.max(0, i - 1);
    else if (e.key === 'ArrowDown') i = Math.min(list.length - 1, i + 1);
    else if (e.key === 'Home') i = 0;
    else i = list.length - 1;
    e.preventDefault();
    list[i].focus();
    list[i].scrollIntoView({ block: 'nearest' });
  };

  let firstNew = -1;
  if (readMarker)
    firstNew = items.findIndex((m) => !m.pending && m.author.id !== meId && newerThan(m.id, readMarker));

  return (
    <div className="message-scroller-wrap">
      <div
        className="message-scroller"
        ref={ref}
        onScroll={onScroll}
        onKeyDown={onKeyDown}
        role="log"
        aria-label={label}
        tabIndex={0}
        aria-busy={cm.loading}
      >
        <div className="message-stack" ref={stack}>
          {cm.loaded && !cm.hasMore && (
            <div className="channel-start">
              <h2>
                Welcome to {channel.guild_id ? `#${channel.name}` : label.replace(/^Messages with /, '')}
              </h2>
              <p>This is the start of the conversation.</p>
            </div>
          )}
          {cm.loading && <p className="loading">Loading messages…</p>}
          {cm.error && (
            <p className="error" role="alert">
              Could not load messages: {cm.error}{' '}
              <button type="button" className="link" onClick={() => void loadLatest(channel.id)}>
                Try again
              </button>
            </p>
          )}
          {items.map((m, i) => {
            const prev = items[i - 1];
            const newDay = !prev || dayKey(prev.timestamp) !== dayKey(m.timestamp);
            const member = members?.[m.author.id];
            return (
              <Fragment key={m.pending ? `n-${m.nonce}` : m.id}>
                {newDay && (
                  <div className="day-divider" role="separator" aria-label={formatDay(m.timestamp)}>
                    <span>{formatDay(m.timestamp)}</span>
                  </div>
                )}
                {i === firstNew && (
                  <div className="new-divider" role="separator" aria-label="New messages">
                    <span>New</span>
                  </div>
                )}
                <MessageItem
                  message={m}
                  grouped={!newDay && i !== firstNew && continuesGroup(prev, m)}
                  meId={meId}
                  canManage={canManage}
                  canReact={canReact}
                  canReply={canReply}
                  authorName={displayName(m.author, member?.nick)}
                  authorColor={roles ? roleColor(roles, member?.roles) : 0}
                  selected={selection ? selection.has(m.id) : undefined}
                  onSelect={onSelect}
                  highlighted={m.id === highlight}
                />
              </Fragment>
            );
          })}
        </div>
      </div>
      {gap ? (
        <button type="button" className="jump" onClick={jumpToBottom}>
          Jump to present ↓
        </button>
      ) : (
        behind && (
          <button type="button" className="jump" onClick={jumpToBottom}>
            New messages below ↓
          </button>
        )
      )}
    </div>
  );
}

export function ChatView({
  channel,
  messageId,
  title,
  people,
  members,
  canSend,
  canAttach,
  canManage,
  canReact,
}: {
  channel: ChannelDto;
  /** Open the history at this message (a message link, a search hit). */
  messageId: string | null;
  title: string;
  people: PublicUser[];
  members: Record<string, MemberDto> | undefined;
  canSend: boolean;
  canAttach: boolean;
  canManage: boolean;
  canReact: boolean;
}) {
  const cm = useStore((s) => s.messages[channel.id]) ?? emptyMessages;
  const synced = useStore((s) => s.synced);
  const meId = useStore((s) => s.me?.id);
  const typingNames = useTypingNames(channel.id, members);
  const [selection, setSelection] = useState<ReadonlySet<string> | null>(null);
  const [confirming, setConfirming] = useState(false);
  const onSelect = useCallback((id: string, on: boolean) => {
    setSelection((current) => {
      const next = new Set(current);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  }, []);
  const selected = selection ? [...selection] : [];

  useEffect(() => {
    setViewing(channel.id);
    return () => setViewing(null);
  }, [channel.id]);

  // A large guild sends typing only to sessions that ask for it: ask while one of its channels is open.
  const connection = useStore((s) => s.connection);
  const guildId = channel.guild_id;
  useEffect(() => {
    if (!guildId || connection !== 'ready') return;
    void subscribeTyping(guildId, true);
    return () => void subscribeTyping(guildId, false);
  }, [guildId, connection]);

  useEffect(() => {
    if (synced && !messageId && !cm.loaded && !cm.loading && !cm.error) void loadLatest(channel.id);
  }, [synced, messageId, cm.loaded, cm.loading, cm.error, channel.id]);

  // Once per message asked for (a new search hit in the same channel jumps again).
  useEffect(() => {
    if (synced && messageId) void jumpTo(channel.id, messageId);
  }, [synced, messageId, channel.id]);

  const isDm = !channel.guild_id;
  return (
    <>
      <MessageList
        key={channel.id}
        channel={channel}
        cm={cm}
        highlight={messageId}
        label={isDm ? `Messages with ${title}` : `Messages in #${title}`}
        meId={meId}
        members={members}
        canManage={canManage}
        canReact={canReact}
        canReply={canSend}
        selection={selection}
        onSelect={onSelect}
      />
      {canManage && (
        <div className="select-bar" role="toolbar" aria-label="Moderation">
          {selection ? (
            <>
              <span role="status">{selected.length} selected</span>
              <button
                type="button"
                className="danger"
                disabled={selected.length === 0 || selected.length > 100}
                onClick={() => setConfirming(true)}
              >
                Delete selected
              </button>
              <button type="button" className="link" onClick={() => setSelection(null)}>
                Cancel
              </button>
            </>
          ) : (
            <button type="button" className="link" onClick={() => setSelection(new Set())}>
              Select messages
            </button>
          )}
        </div>
      )}
      {confirming && (
        <ConfirmDialog
          title="Delete messages"
          body={`Delete ${selected.length} message${selected.length === 1 ? '' : 's'} for everyone? This cannot be undone.`}
          confirm="Delete"
          onConfirm={() => deleteMessages(channel.id, selected).then(() => setSelection(null))}
          onClose={() => setConfirming(false)}
        />
      )}
      <div className="composer-wrap">
        <Composer
          channelId={channel.id}
          label={isDm ? `Message @${title}` : `Message #${title}`}
          people={people}
          disabledReason={canSend ? null : 'You do not have permission to send messages here'}
          canAttach={canAttach}
        />
        <TypingIndicator names={typingNames} />
      </div>
    </>
  );
}
