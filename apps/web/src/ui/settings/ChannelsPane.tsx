import type { GuildFullDto } from '@parley/common/protocol';
import { useState } from 'react';
import { api } from '../../actions';
import { ChannelRow } from './ChannelRow';
import { CategoryField } from './CategoryField';
import { ErrorLine, useAction } from './useAction';

/** Creating channels and categories, and the list of them to edit. */
export function ChannelsPane({ guild }: { guild: GuildFullDto }) {
  const [name, setName] = useState('');
  const [type, setType] = useState<0 | 4>(0);
  const [parent, setParent] = useState('');
  const [error, busy, run] = useAction();
  const categories = guild.channels.filter((c) => c.type === 4);
  return (
    <>
      <form
        className="create-row"
        onSubmit={(e) => {
          e.preventDefault();
          run(
            api.createChannel(guild.id, {
              name: name.trim(),
              type,
              parent_id: type === 0 && parent ? parent : undefined,
            }),
            () => setName(''),
          );
        }}
      >
        <label className="field inline">
          <span>New channel name</span>
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
        </label>
        <label className="field inline">
          <span>Type</span>
          <select value={type} onChange={(e) => setType(Number(e.target.value) as 0 | 4)}>
            <option value={0}>Text channel</option>
            <option value={4}>Category</option>
          </select>
        </label>
        {type === 0 && categories.length > 0 && (
          <CategoryField value={parent} categories={categories} onChange={setParent} />
        )}
        <button type="submit" className="primary" disabled={busy || !name.trim()}>
          Create channel
        </button>
      </form>
      <ErrorLine error={error} />
      <ul className="settings-list" aria-label="Channels">
        {guild.channels
          .filter((c) => c.type === 0 || c.type === 4)
          .map((c) => (
            <ChannelRow key={c.id} channel={c} categories={categories} />
          ))}
      </ul>
    </>
  );
}
