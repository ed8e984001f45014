import type { ChannelDto, MessageDto } from '@parley/common/protocol';
import { useEffect, useState } from 'react';
import { api, pinUpdates } from '../actions';
import { displayName, formatFull } from '../text';
import { errorText } from './Dialog';

/**
 * The channel's pinned messages, newest pin first, reloaded whenever CHANNEL_PINS_UPDATE names the channel.
 * Moderators (PIN_MESSAGES or MANAGE_MESSAGES) may unpin from here. Text is rendered by React: no HTML.
 */
export function PinsPanel({
  channel,
  canManage,
  onClose,
}: {
  channel: ChannelDto;
  canManage: boolean;
  onClose: () => void;
}) {
  const [pins, setPins] = useState<MessageDto[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);

  useEffect(() => {
    const changed = (e: Event) => {
      if ((e as CustomEvent<string>).detail === channel.id) setVersion((v) => v + 1);
    };
    pinUpdates.addEventListener('pins', changed);
    return () => pinUpdates.removeEventListener('pins', changed);
  }, [channel.id]);

  useEffect(() => {
    let live = true;
    api.pins(channel.id).then(
      (list) => live && (setPins(list), setError(null)),
      (err: unknown) => live && setError(errorText(err)),
    );
    return () => {
      live = false;
    };
  }, [channel.id, version]);

  return (
    <section className="pins-panel" aria-label="Pinned messages">
      <header className="search-header">
        <h2>Pinned messages</h2>
        <button type="button" className="icon-button" aria-label="Close pinned messages" onClick={onClose}>
          ×
        </button>
      </header>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {pins === null && !error && <p role="status">Loading…</p>}
      {pins?.length === 0 && <p role="status">No pinned messages in this channel yet.</p>}
      {pins && pins.length > 0 && (
        <ol className="pins-list" aria-label="Pins">
          {pins.map((m) => (
            <li key={m.id} className="pin">
              <p className="search-meta">
                <span className="search-author">{displayName(m.author)}</span>{' '}
                <time dateTime={m.timestamp}>{formatFull(m.timestamp)}</time>
              </p>
              <p className="pin-content">{m.content || (m.attachments.length > 0 ? '(attachment)' : '')}</p>
              {canManage && (
                <button
                  type="button"
                  className="link"
                  onClick={() =>
                    void api.pin(channel.id, m.id, false).catch((err: unknown) => setError(errorText(err)))
                  }
                >
                  Unpin
                </button>
              )}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
