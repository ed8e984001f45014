import type { GuildFullDto, WebhookDto } from '@parley/common/protocol';
import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../../actions';
import { ErrorLine, useAction } from './useAction';

/** The URL senders post to: the server's answer, or this instance's address (Discord's form). */
function webhookUrl(w: WebhookDto): string {
  return w.url ?? `${window.location.origin}/api/webhooks/${w.id}/${w.token ?? ''}`;
}

/** Integrations: the guild's incoming webhooks per channel — create, copy the URL, rename, move, delete. */
export function WebhooksPane({ guild }: { guild: GuildFullDto }) {
  const textChannels = guild.channels.filter((c) => c.type === 0);
  const [webhooks, setWebhooks] = useState<WebhookDto[] | null>(null);
  const [name, setName] = useState('');
  const [channelId, setChannelId] = useState(textChannels[0]?.id ?? '');
  const [copied, setCopied] = useState<string | null>(null);
  const [error, busy, run] = useAction();
  const refresh = () => run(api.guildWebhooks(guild.id).then((list) => setWebhooks(list)));
  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(refresh, [guild.id]);
  const create = (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim() || !channelId) return;
    run(api.createWebhook(channelId, name.trim()), () => {
      setName('');
      refresh();
    });
  };
  const copy = (w: WebhookDto) =>
    run(navigator.clipboard.writeText(webhookUrl(w)).then(() => setCopied(w.id)));
  const channelName = (id: string) => textChannels.find((c) => c.id === id)?.name ?? id;
  return (
    <>
      <ErrorLine error={error} />
      <form className="settings-row" onSubmit={create} aria-label="New webhook">
        <label>
          Name <input value={name} maxLength={80} onChange={(e) => setName(e.target.value)} required />
        </label>
        <label>
          Channel{' '}
          <select value={channelId} onChange={(e) => setChannelId(e.target.value)}>
            {textChannels.map((c) => (
              <option key={c.id} value={c.id}>
                #{c.name}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" disabled={busy || !name.trim()}>
          Create webhook
        </button>
      </form>
      {webhooks && webhooks.length === 0 && (
        <p className="muted">
          No webhooks. A webhook lets a service (alerts, CI, monitors) post in a channel.
        </p>
      )}
      <ul className="settings-list" aria-label="Webhooks">
        {(webhooks ?? []).map((w) => (
          <WebhookRow
            key={w.id}
            webhook={w}
            channel={channelName(w.channel_id)}
            copied={copied === w.id}
            onCopy={() => copy(w)}
            onRename={(next) => run(api.updateWebhook(w.id, { name: next }), refresh)}
            onDelete={() => run(api.deleteWebhook(w.id), refresh)}
          />
        ))}
      </ul>
    </>
  );
}

function WebhookRow({
  webhook,
  channel,
  copied,
  onCopy,
  onRename,
  onDelete,
}: {
  webhook: WebhookDto;
  channel: string;
  copied: boolean;
  onCopy: () => void;
  onRename: (name: string) => void;
  onDelete: () => void;
}) {
  const [name, setName] = useState(webhook.name);
  return (
    <li className="settings-row">
      <input
        aria-label={`Name of webhook ${webhook.name}`}
        value={name}
        maxLength={80}
        onChange={(e) => setName(e.target.value)}
      />
      <span className="muted">
        {' '}
        #{channel}
        {webhook.user ? ` · by ${webhook.user.username}` : ''}
      </span>
      <div className="row-actions">
        {name.trim() !== webhook.name && name.trim() && (
          <button type="button" onClick={() => onRename(name.trim())}>
            Rename
          </button>
        )}
        <button type="button" onClick={onCopy}>
          {copied ? 'Copied' : 'Copy URL'}
        </button>
        <button type="button" className="danger" onClick={onDelete}>
          Delete
        </button>
      </div>
    </li>
  );
}
