import type { ChannelDto } from '@parley/common/protocol';
import { useState } from 'react';
import { api } from '../../actions';
import { ConfirmDialog } from '../Dialog';
import { CategoryField } from './CategoryField';
import { ErrorLine, useAction } from './useAction';

/** One channel or category: rename, topic and category, delete. */
export function ChannelRow({ channel, categories }: { channel: ChannelDto; categories: ChannelDto[] }) {
  const [name, setName] = useState(channel.name ?? '');
  const [topic, setTopic] = useState(channel.topic ?? '');
  const [parent, setParent] = useState(channel.parent_id ?? '');
  const [error, busy, run] = useAction();
  const [confirm, setConfirm] = useState(false);
  const changed =
    name !== channel.name || topic !== (channel.topic ?? '') || parent !== (channel.parent_id ?? '');
  return (
    <li className="settings-row">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const patch: { name?: string; topic?: string | null; parent_id?: string | null } = {
            name: name.trim(),
          };
          if (channel.type === 0) {
            patch.topic = topic.trim() || null;
            patch.parent_id = parent || null;
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
