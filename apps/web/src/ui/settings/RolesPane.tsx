import type { GuildFullDto } from '@parley/common/protocol';
import { useState } from 'react';
import { api } from '../../actions';
import { RoleEditor } from './RoleEditor';
import { ErrorLine, useAction } from './useAction';

/** Creating roles, and every role from the highest down to edit. */
export function RolesPane({ guild }: { guild: GuildFullDto }) {
  const [name, setName] = useState('');
  const [error, busy, run] = useAction();
  const roles = [...guild.roles].sort((a, b) => b.position - a.position);
  return (
    <>
      <form
        className="create-row"
        onSubmit={(e) => {
          e.preventDefault();
          run(api.createRole(guild.id, { name: name.trim() }), () => setName(''));
        }}
      >
        <label className="field inline">
          <span>New role name</span>
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
        </label>
        <button type="submit" className="primary" disabled={busy || !name.trim()}>
          Create role
        </button>
      </form>
      <ErrorLine error={error} />
      <ul className="settings-list" aria-label="Roles">
        {roles.map((r) => (
          <RoleEditor key={`${r.id}-${r.permissions}-${r.name}-${r.color}`} guild={guild} role={r} />
        ))}
      </ul>
    </>
  );
}
