import type { AttachmentDto, ReactionEmojiDto } from '@parley/common/protocol';
import { memo, useMemo, useRef, useState, type ReactNode } from 'react';
import {
  api,
  deleteMessage,
  discardFailed,
  editMessage,
  jumpToMessage,
  retrySend,
  setEditing,
  setReplyTo,
  toggleReaction,
} from '../actions';
import { emojiImageUrl, emojiKey, isCustom, reactionEmojiOf, sameEmoji } from '../emoji/custom';
import { isEmojiOnly, parseMarkdown } from '../markdown';
import { renderMarkdown } from '../markdown-react';
import { colorStyle } from '../perms';
import type { ClientMessage } from '../store';
import { useStore } from '../store';
import { displayName, formatFull, formatTime } from '../text';
import { ReasonDialog } from './ModerationDialogs';
import { ConfirmDialog, errorText } from './Dialog';
import { EmojiPicker } from './EmojiPicker';
import { Embeds } from './Embeds';
import { IconEdit, IconPin, IconSmile, IconTrash } from './icons';

function Avatar({ name, id }: { name: string; id: string }) {
  // A stable colour per user, no image request.
  const hue = Number(BigInt(id) % 360n);
  return (
    <span className="avatar" style={{ background: `hsl(${hue} 45% 42%)` }} aria-hidden="true">
      {name.slice(0, 1).toUpperCase()}
    </span>
  );
}

export { Avatar };

function Mention({ userId, meId }: { userId: string; meId: string | undefined }) {
  const user = useStore((s) => s.users[userId]);
  return (
    <span className={userId === meId ? 'mention mention-me' : 'mention'}>
      @{user ? displayName(user) : 'unknown-user'}
    </span>
  );
}

function ChannelMention({ channelId }: { channelId: string }) {
  const name = useStore((s) => {
    for (const g of Object.values(s.guilds)) {
      const c = g.channels.find((x) => x.id === channelId);
      if (c) return c.name;
    }
    return null;
  });
  return <span className="mention">#{name ?? 'unknown-channel'}</span>;
}

/** Hidden until clicked (or Enter/Space), then stays shown; its text is not read out until revealed. */
function Spoiler({ children }: { children: ReactNode }) {
  const [shown, setShown] = useState(false);
  if (shown) return <span className="spoiler spoiler-shown">{children}</span>;
  return (
    <button type="button" className="spoiler" aria-label="Spoiler, reveal" onClick={() => setShown(true)}>
      <span aria-hidden="true">{children}</span>
    </button>
  );
}

/** Message text as Discord-flavoured markdown (see markdown.ts: no HTML passes through). */
export function Content({ text, meId }: { text: string; meId: string | undefined }) {
  const nodes = useMemo(() => parseMarkdown(text), [text]);
  return (
    <>
      {renderMarkdown(nodes, {
        mention: (type, id, key) =>
          type === 'user' ? (
            <Mention key={key} userId={id} meId={meId} />
          ) : type === 'channel' ? (
            <ChannelMention key={key} channelId={id} />
          ) : (
            <span key={key} className="mention">
              @role
            </span>
          ),
        spoiler: (children, key) => <Spoiler key={key}>{children}</Spoiler>,
      })}
    </>
  );
}

/** The replied-to message above a reply: its author and first line; a click jumps to it. */
function ReplyHeader({ m }: { m: ClientMessage }) {
  const ref = m.referenced_message;
  if (!ref)
    return (
      <div className="reply-header muted">
        <span aria-hidden="true">↱</span> Original message was deleted
      </div>
    );
  const snippet =
    ref.content.replace(/\s+/g, ' ').slice(0, 120) || (ref.attachments.length ? 'Attachment' : '');
  return (
    <button
      type="button"
      className="reply-header"
      aria-label={`Replying to ${displayName(ref.author)}: ${snippet}. Jump to the original`}
      onClick={() => void jumpToMessage(m.channel_id, ref.id)}
    >
      <span aria-hidden="true">↱</span> <strong>@{displayName(ref.author)}</strong>{' '}
      <span className="reply-snippet">{snippet}</span>
    </button>
  );
}

function EditBox({ message, onDone }: { message: ClientMessage; onDone: () => void }) {
  const users = useStore((s) => s.users);
  // Show mentions as @name while editing; they are turned back into <@id> on save.
  const [text, setText] = useState(() =>
    message.content.replace(/<@!?(\d+)>/g, (whole, id: string) =>
      users[id] ? `@${users[id].username}` : whole,
    ),
  );
  const [error, setError] = useState<string | null>(null);
  const save = () => {
    const content = text.trim();
    if (!content) return;
    if (content === message.content) return onDone();
    editMessage(message, content).then(onDone, (err: unknown) => setError(errorText(err)));
  };
  return (
    <div className="edit-box">
      <textarea
        aria-label="Edit message"
        value={text}
        autoFocus
        rows={Math.min(8, text.split('\n').length)}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            e.stopPropagation();
            onDone();
          } else if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
            e.preventDefault();
            save();
          }
        }}
      />
      <small>
        Escape to{' '}
        <button type="button" className="link" onClick={onDone}>
          cancel
        </button>
        , Enter to{' '}
        <button type="button" className="link" onClick={save}>
          save
        </button>
      </small>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

const PREVIEW = { width: 400, height: 300 };

/** Images as bounded previews (the media proxy resizes them), anything else as a download link. */
function Attachments({ items }: { items: AttachmentDto[] }) {
  return (
    <ul className="attachments" aria-label="Attachments">
      {items.map((a) => {
        const image = a.content_type.startsWith('image/') && a.url;
        if (image) {
          const scale = Math.min(
            1,
            PREVIEW.width / (a.width ?? PREVIEW.width),
            PREVIEW.height / (a.height ?? PREVIEW.height),
          );
          const w = a.width ? Math.round(a.width * scale) : undefined;
          const h = a.height ? Math.round(a.height * scale) : undefined;
          const local = a.url.startsWith('blob:');
          const src = local
            ? a.url
            : `${a.url}${a.url.includes('?') ? '&' : '?'}width=${PREVIEW.width}&height=${PREVIEW.height}`;
          return (
            <li key={a.id}>
              <a
                href={local ? undefined : a.url}
                target="_blank"
                rel="noopener noreferrer"
                className="image-link"
              >
                <img src={src} alt={a.filename} width={w} height={h} loading="lazy" decoding="async" />
              </a>
            </li>
          );
        }
        return (
          <li key={a.id} className="file-card">
            <span aria-hidden="true">📄</span>
            <a href={a.url || undefined} download={a.filename}>
              {a.filename}
            </a>
            <span className="muted">{Math.max(1, Math.round(a.size / 1024))} KB</span>
          </li>
        );
      })}
    </ul>
  );
}

export interface MessageProps {
  message: ClientMessage;
  grouped: boolean;
  meId: string | undefined;
  canManage: boolean;
  canReact: boolean;
  canReply: boolean;
  authorName: string;
  /** The author's role colour (`roleColor`), 0 for none. */
  authorColor?: number;
  /** Bulk selection: undefined when not selecting, else whether this one is selected. */
  selected?: boolean;
  onSelect?: (id: string, on: boolean) => void;
  /** The message a link or search hit opened the channel at: marked (and `aria-current`). */
  highlighted?: boolean;
}

/** One message: header unless it continues the author's group, content, reactions, actions on hover/focus. */
export const MessageItem = memo(function MessageItem({
  message: m,
  grouped,
  meId,
  canManage,
  canReact,
  canReply,
  authorName,
  authorColor = 0,
  selected,
  onSelect,
  highlighted = false,
}: MessageProps) {
  const editing = useStore((s) => s.editing === m.id);
  const blocked = useStore((s) => !!s.blocked[m.author.id]);
  const [revealed, setRevealed] = useState(false);
  const [reporting, setReporting] = useState(false);
  const [picking, setPicking] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const reactButton = useRef<HTMLButtonElement>(null);
  const mine = m.author.id === meId;
  const mentioned = !mine && !!meId && (m.mention_everyone || m.mentions.some((u) => u.id === meId));
  const react = (emoji: ReactionEmojiDto, on: boolean) => {
    setPicking(false);
    toggleReaction(m, emoji, on).catch((err: unknown) => setError(errorText(err)));
  };
  const isReply = m.type === 19 || !!m.message_reference;
  const classes = ['message'];
  if (grouped && !isReply) classes.push('grouped');
  if (m.pending) classes.push(`pending-${m.pending}`);
  if (mentioned) classes.push('mentioned');
  if (picking) classes.push('picking');
  if (selected) classes.push('selected');
  const selecting = selected !== undefined && !m.pending;
  if (highlighted) classes.push('highlighted');
  return (
    <article
      className={classes.join(' ')}
      tabIndex={-1}
      data-message-id={m.id}
      aria-current={highlighted ? 'true' : undefined}
      aria-busy={m.pending === 'sending'}
    >
      {isReply && <ReplyHeader m={m} />}
      {selecting ? (
        <input
          type="checkbox"
          className="select-box"
          aria-label={`Select message from ${authorName}`}
          checked={selected}
          onChange={(e) => onSelect?.(m.id, e.target.checked)}
        />
      ) : grouped && !isReply ? (
        <span className="gutter-time" aria-hidden="true">
          {formatTime(m.timestamp)}
        </span>
      ) : (
        <Avatar name={authorName} id={m.author.id} />
      )}
      <div className="message-main">
        {grouped && !isReply ? (
          <span className="sr-only">{authorName}: </span>
        ) : (
          <header className="message-header">
            <strong className="author" style={colorStyle(authorColor)}>
              {authorName}
            </strong>
            {m.author.bot && (
              <span className="bot-tag" title={m.webhook_id ? 'Sent by a webhook' : 'An application'}>
                {m.webhook_id ? 'BOT' : 'APP'}
              </span>
            )}
            <time dateTime={m.timestamp} title={formatFull(m.timestamp)}>
              {formatTime(m.timestamp)}
            </time>
          </header>
        )}
        {editing ? (
          <EditBox
            message={m}
            onDone={() => {
              setEditing(null);
              // Back to where you type (the editor was opened from it with Up, or from the toolbar).
              document.querySelector<HTMLTextAreaElement>('.composer textarea')?.focus();
            }}
          />
        ) : blocked && !revealed ? (
          <div className="content blocked-message">
            <span className="muted">Blocked message</span>{' '}
            <button type="button" className="link" onClick={() => setRevealed(true)}>
              Show message
            </button>
          </div>
        ) : (
          <div className={isEmojiOnly(m.content) ? 'content emoji-only' : 'content'}>
            <Content text={m.content} meId={meId} />
            {m.edited_timestamp && (
              <span className="edited" title={formatFull(m.edited_timestamp)}>
                {' '}
                (edited)
              </span>
            )}
          </div>
        )}
        {m.attachments.length > 0 && !(blocked && !revealed) && <Attachments items={m.attachments} />}
        {m.embeds.length > 0 && (m.flags & 4) === 0 && !(blocked && !revealed) && (
          <Embeds
            embeds={m.embeds}
            canSuppress={!m.pending && (mine || canManage)}
            onSuppress={() =>
              void api.suppressEmbeds(m.channel_id, m.id).catch((err: unknown) => setError(errorText(err)))
            }
            renderText={(text) => <Content text={text} meId={meId} />}
          />
        )}
        {m.pending === 'sending' && <span className="sr-only">Sending…</span>}
        {m.pending === 'failed' && (
          <div className="send-failed" role="alert">
            <span>Not sent: {m.failure ?? 'network error'}.</span>
            <button type="button" className="link" onClick={() => retrySend(m.channel_id, m.nonce!)}>
              Retry
            </button>
            <button type="button" className="link" onClick={() => discardFailed(m.channel_id, m.nonce!)}>
              Discard
            </button>
          </div>
        )}
        {m.reactions && m.reactions.length > 0 && (
          <div className="reactions" role="group" aria-label="Reactions">
            {m.reactions.map((r) => {
              const label = isCustom(r.emoji) ? `:${r.emoji.name ?? 'deleted emoji'}:` : r.emoji.name;
              return (
                <button
                  key={emojiKey(r.emoji)}
                  type="button"
                  className={r.me ? 'reaction reaction-me' : 'reaction'}
                  aria-pressed={r.me}
                  aria-label={`${label} ${r.count}`}
                  disabled={!canReact && !r.me}
                  onClick={() => react(r.emoji, !r.me)}
                >
                  {isCustom(r.emoji) ? (
                    <img
                      className="reaction-emoji"
                      src={emojiImageUrl(r.emoji.id, r.emoji.animated, 48)}
                      alt=""
                      width={18}
                      height={18}
                    />
                  ) : (
                    <span aria-hidden="true">{r.emoji.name}</span>
                  )}{' '}
                  <span aria-hidden="true">{r.count}</span>
                </button>
              );
            })}
          </div>
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
      </div>
      {!m.pending && !editing && !selecting && (
        <div className="message-actions" role="toolbar" aria-label="Message actions">
          {canReact && (
            <button
              ref={reactButton}
              type="button"
              aria-label="Add reaction"
              aria-haspopup="dialog"
              aria-expanded={picking}
              onClick={() => setPicking(!picking)}
            >
              <IconSmile />
            </button>
          )}
          {canReply && (
            <button type="button" aria-label="Reply" onClick={() => setReplyTo(m.channel_id, m)}>
              <span aria-hidden="true" className="reply-icon">
                ↩
              </span>
            </button>
          )}
          {mine && (
            <button type="button" aria-label="Edit message" onClick={() => setEditing(m.id)}>
              <IconEdit />
            </button>
          )}
          {canManage && (
            <button
              type="button"
              aria-label={m.pinned ? 'Unpin message' : 'Pin message'}
              aria-pressed={m.pinned}
              onClick={() =>
                void api.pin(m.channel_id, m.id, !m.pinned).catch((err: unknown) => setError(errorText(err)))
              }
            >
              <IconPin />
            </button>
          )}
          {(mine || canManage) && (
            <button type="button" aria-label="Delete message" onClick={() => setConfirming(true)}>
              <IconTrash />
            </button>
          )}
          {!mine && (
            <button type="button" aria-label="Report message" onClick={() => setReporting(true)}>
              <span aria-hidden="true">⚑</span>
            </button>
          )}
        </div>
      )}
      {picking && (
        <EmojiPicker
          anchor={reactButton.current}
          label="Pick a reaction"
          onClose={() => setPicking(false)}
          onPick={(text) => {
            const emoji = reactionEmojiOf(text);
            react(emoji, !(m.reactions ?? []).some((r) => sameEmoji(r.emoji, emoji) && r.me));
          }}
        />
      )}
      {reporting && (
        <ReasonDialog
          title={`Report ${authorName}'s message`}
          confirm="Report"
          reasonRequired
          onSubmit={(reason) =>
            api.report({ reason: reason ?? '', channel_id: m.channel_id, message_id: m.id })
          }
          onClose={() => setReporting(false)}
        />
      )}
      {confirming && (
        <ConfirmDialog
          title="Delete message"
          body="Delete this message for everyone? This cannot be undone."
          confirm="Delete"
          onConfirm={() => deleteMessage(m)}
          onClose={() => setConfirming(false)}
        />
      )}
    </article>
  );
});
