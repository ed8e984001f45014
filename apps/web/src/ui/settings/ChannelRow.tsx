import type { ChannelDto } from '@parley/common/protocol';
import { useState } from 'react';
import { api } from '../../actions';
import { ConfirmDialog } from '../Dialog';
import { CategoryField } from './CategoryField';
import { ErrorLine, useAction } from './useAction';

/** Discord's slowmode choices (rate_limit_per_user, seconds). */
const SLOWMODES: [string, number][] = [
  ['Off', 0],
  ['5s', 5],
  ['10s', 10],
  ['30s', 30],
  ['1m', 60],
  ['5m', 300],
  ['15m', 900],
  ['1h', 3600],
  ['6h', 21600],
];

/** One channel or category: rename, topic, category and slowmode, delete. */
export function ChannelRow({ channel, categories }: { channel: ChannelDto; categories: ChannelDto[] }) {
  const [name, setName] = useState(channel.name ?? '');
  const [topic, setTopic] = useState(channel.topic ?? '');
  const [parent, setParent] = useState(channel.parent_id ?? '');
  const [slowmode, setSlowmode] = useState(channel.rate_limit_per_user ?? 0);
  const [error, busy, run] = useAction();
  const [confirm, setConfirm] = useState(false);
  const changed =
    name !== channel.name ||
    topic !== (channel.topic ?? '') ||
    parent !== (channel.parent_id ?? '') ||
    slowmode !== (channel.rate_limit_per_user ?? 0);
  return (
    <li className="settings-row">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const patch: {
            name?: string;
            topic?: string | null;
            parent_id?: string | null;
            rate_limit_per_user?: number;
          } = {
            name: name.trim(),
          };
          if (channel.type === 0) {
            patch.topic = topic.trim() || null;
            patch.parent_id = parent || null;
            patch.rate_limit_per_user = slowmode;
          }
          run(api.updateChannel(channel.id, patch));
        }}
      >
        <label className="field inline">
          <span>{channel.type === 4 ? 'Category name' : 'Channel name'}</span>
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
        </label>
        {channel.type === 0 && (
          <>
            <label className="field inline">
              <span>Topic</span>
              <input value={topic} onChange={(e) => setTopic(e.target.value)} maxLength={1024} />
            </label>
            <CategoryField value={parent} categories={categories} onChange={setParent} />
            <label className="field inline">
              <span>Slowmode</span>
              <select value={slowmode} onChange={(e) => setSlowmode(Number(e.target.value))}>
                {SLOWMODES.map(([label, seconds]) => (
                  <option key={seconds} value={seconds}>
                    {label}
                  </option>
                ))}
              </select>
            </label>
          </>
        )}
        <div className="row-actions">
          <button type="submit" className="primary" disabled={busy || !changed}>
            Save
          </button>
          <button type="button" className="danger" onClick={() => setConfirm(true)}>
            Delete
          </button>
        </div>
      </form>
      <ErrorLine error={error} />
      {confirm && (
        <ConfirmDialog
          title={`Delete ${channel.type === 4 ? 'category' : `#${channel.name}`}`}
          body={
            channel.type === 4 ? 'Its channels stay, without a category.' : 'Every message in it goes too.'
          }
          confirm="Delete"
          onConfirm={() => api.deleteChannel(channel.id)}
          onClose={() => setConfirm(false)}
        />
      )}
    </li>
  );
}
