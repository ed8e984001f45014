import type { GuildFullDto, RoleDto } from '@parley/common/protocol';
import { useState } from 'react';
import { api } from '../../actions';
import { Permission } from '../../perms';
import { ConfirmDialog } from '../Dialog';
import { ErrorLine, useAction } from './useAction';

/** The permissions a role editor offers, in the order shown. */
const PERMISSION_LABELS: [keyof typeof Permission, string][] = [
  ['ADMINISTRATOR', 'Administrator (every permission)'],
  ['MANAGE_GUILD', 'Manage guild'],
  ['MANAGE_CHANNELS', 'Manage channels'],
  ['MANAGE_ROLES', 'Manage roles'],
  ['KICK_MEMBERS', 'Kick members'],
  ['BAN_MEMBERS', 'Ban members'],
  ['CREATE_INSTANT_INVITE', 'Create invites'],
  ['VIEW_CHANNEL', 'View channels'],
  ['SEND_MESSAGES', 'Send messages'],
  ['MANAGE_MESSAGES', 'Manage messages'],
  ['ADD_REACTIONS', 'Add reactions'],
  ['READ_MESSAGE_HISTORY', 'Read message history'],
  ['MENTION_EVERYONE', 'Mention everyone'],
  ['ATTACH_FILES', 'Attach files'],
];

/** One role: name, colour and permission bits (only permissions for @everyone), delete. */
export function RoleEditor({ guild, role }: { guild: GuildFullDto; role: RoleDto }) {
  const everyone = role.id === guild.id;
  const [name, setName] = useState(role.name);
  const [color, setColor] = useState(`#${role.color.toString(16).padStart(6, '0')}`);
  const [bits, setBits] = useState(BigInt(role.permissions));
  const [error, busy, run] = useAction();
  const [confirm, setConfirm] = useState(false);
  return (
    <li className="settings-row">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const body: Partial<Pick<RoleDto, 'name' | 'permissions' | 'color'>> = {
            permissions: bits.toString(),
          };
          if (!everyone) {
            body.name = name.trim();
            body.color = parseInt(color.slice(1), 16);
          }
          run(api.updateRole(guild.id, role.id, body));
        }}
      >
        <fieldset>
          <legend>{everyone ? '@everyone' : role.name}</legend>
          {!everyone && (
            <div className="inline-fields">
              <label className="field inline">
                <span>Role name</span>
                <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
              </label>
              <label className="field inline">
                <span>Colour</span>
                <input type="color" value={color} onChange={(e) => setColor(e.target.value)} />
              </label>
            </div>
          )}
          <div className="permission-grid">
            {PERMISSION_LABELS.map(([key, label]) => {
              const bit = Permission[key];
              return (
                <label key={key} className="check">
                  <input
                    type="checkbox"
                    checked={(bits & bit) === bit}
                    onChange={(e) => setBits(e.target.checked ? bits | bit : bits & ~bit)}
                  />
                  {label}
                </label>
              );
            })}
          </div>
          <div className="row-actions">
            <button type="submit" className="primary" disabled={busy}>
              Save role
            </button>
            {!everyone && (
              <button type="button" className="danger" onClick={() => setConfirm(true)}>
                Delete role
              </button>
            )}
          </div>
        </fieldset>
      </form>
      <ErrorLine error={error} />
      {confirm && (
        <ConfirmDialog
          title={`Delete role ${role.name}`}
          body="Members keep their other roles."
          confirm="Delete role"
          onConfirm={() => api.deleteRole(guild.id, role.id)}
          onClose={() => setConfirm(false)}
        />
      )}
    </li>
  );
}
