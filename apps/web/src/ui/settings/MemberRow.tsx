import type { GuildFullDto, MemberDto } from '@parley/common/protocol';
import { useState } from 'react';
import { api } from '../../actions';
import { has, Permission } from '../../perms';
import { displayName } from '../../text';
import { ConfirmDialog } from '../Dialog';
import { ErrorLine, useAction } from './useAction';

/** One member: their roles (with MANAGE_ROLES), kick and ban (with those permissions; never the owner). */
export function MemberRow({
  guild,
  member,
  perms,
}: {
  guild: GuildFullDto;
  member: MemberDto;
  perms: bigint;
}) {
  const [error, busy, run] = useAction();
  const [confirm, setConfirm] = useState<'kick' | 'ban' | null>(null);
  const name = displayName(member.user, member.nick);
  const owner = member.user.id === guild.owner_id;
  const assignable = guild.roles.filter((r) => r.id !== guild.id);
  return (
    <li className="settings-row member-row">
      <strong>{name}</strong> <span className="muted">@{member.user.username}</span>
      {has(perms, Permission.MANAGE_ROLES) && assignable.length > 0 && (
        <fieldset className="role-checks">
          <legend className="sr-only">Roles of {name}</legend>
          {assignable.map((r) => (
            <label key={r.id} className="check">
              <input
                type="checkbox"
                disabled={busy}
                checked={member.roles.includes(r.id)}
                onChange={(e) =>
                  run(
                    api.updateMember(guild.id, member.user.id, {
                      roles: e.target.checked
                        ? [...member.roles, r.id]
                        : member.roles.filter((id) => id !== r.id),
                    }),
                  )
                }
              />
              {r.name}
            </label>
          ))}
        </fieldset>
      )}
      {!owner && (
        <div className="row-actions">
          {has(perms, Permission.KICK_MEMBERS) && (
            <button type="button" className="danger" onClick={() => setConfirm('kick')}>
              Kick
            </button>
          )}
          {has(perms, Permission.BAN_MEMBERS) && (
            <button type="button" className="danger" onClick={() => setConfirm('ban')}>
              Ban
            </button>
          )}
        </div>
      )}
      <ErrorLine error={error} />
      {confirm && (
        <ConfirmDialog
          title={`${confirm === 'kick' ? 'Kick' : 'Ban'} ${name}`}
          body={confirm === 'kick' ? 'They can rejoin with an invite.' : 'They cannot rejoin until unbanned.'}
          confirm={confirm === 'kick' ? 'Kick' : 'Ban'}
          onConfirm={() =>
            confirm === 'kick' ? api.kick(guild.id, member.user.id) : api.ban(guild.id, member.user.id, null)
          }
          onClose={() => setConfirm(null)}
        />
      )}
    </li>
  );
}
