import type { GuildFullDto } from '@parley/common/protocol';
import { useState, type FormEvent } from 'react';
import { api } from '../../actions';
import { navigate } from '../../router';
import { useStore } from '../../store';
import { ConfirmDialog } from '../Dialog';
import { ErrorLine, useAction } from './useAction';

/** The guild's name, its default notification level, and deleting the guild for its owner. */
export function OverviewPane({ guild, onClose }: { guild: GuildFullDto; onClose: () => void }) {
  const me = useStore((s) => s.me);
  const [name, setName] = useState(guild.name);
  const [error, busy, run] = useAction();
  const [confirm, setConfirm] = useState(false);
  const owner = me?.id === guild.owner_id;
  return (
    <>
      <form
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          run(api.updateGuild(guild.id, { name: name.trim() }));
        }}
      >
        <label className="field">
          <span>Guild name</span>
          <input
            value={name}
            onChange={(e) => setName(e.target.value)}
            minLength={2}
            maxLength={100}
            required
          />
        </label>
        <button type="submit" className="primary" disabled={busy || name.trim() === guild.name}>
          Save
        </button>
      </form>
      <label className="field">
        <span>Default notifications</span>
        <select
          value={guild.default_message_notifications}
          disabled={busy}
          onChange={(e) =>
            run(api.updateGuild(guild.id, { default_message_notifications: Number(e.target.value) }))
          }
        >
          <option value={0}>All messages</option>
          <option value={1}>Only @mentions</option>
        </select>
        <small>For members who have not chosen their own.</small>
      </label>
      <ErrorLine error={error} />
      {owner && (
        <section className="danger-zone">
          <h3>Delete guild</h3>
          <p className="muted">Deletes every channel and message of {guild.name} for everyone.</p>
          <button type="button" className="danger" onClick={() => setConfirm(true)}>
            Delete guild
          </button>
        </section>
      )}
      {confirm && (
        <ConfirmDialog
          title={`Delete ${guild.name}`}
          body="This cannot be undone."
          confirm="Delete guild"
          onConfirm={() =>
            api.deleteGuild(guild.id).then(() => {
              onClose();
              navigate('/channels/@me');
            })
          }
          onClose={() => setConfirm(false)}
        />
      )}
    </>
  );
}
