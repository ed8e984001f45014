import type { GuildFullDto, PublicUser } from '@parley/common/protocol';
import { useEffect, useState } from 'react';
import { api } from '../../actions';
import type { AuditLogPage } from '../../api';
import { useStore } from '../../store';
import { ErrorLine, useAction } from './useAction';

/** Discord's audit log action types Parley writes, by name. */
export const ACTION_NAMES: Record<number, string> = {
  1: 'Server updated',
  10: 'Channel created',
  11: 'Channel updated',
  12: 'Channel deleted',
  13: 'Permission overwrite created',
  14: 'Permission overwrite updated',
  15: 'Permission overwrite deleted',
  20: 'Member kicked',
  22: 'Member banned',
  23: 'Member unbanned',
  24: 'Member updated',
  25: 'Member roles updated',
  30: 'Role created',
  31: 'Role updated',
  32: 'Role deleted',
  40: 'Invite created',
  42: 'Invite deleted',
  72: 'Message deleted',
  73: 'Messages bulk deleted',
  140: 'AutoMod rule created',
  141: 'AutoMod rule updated',
  142: 'AutoMod rule deleted',
  143: 'AutoMod blocked a message',
  144: 'AutoMod alert',
  145: 'AutoMod timeout',
};

function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The guild's audit log (VIEW_AUDIT_LOG), newest first, filtered by who acted and by action. */
export function AuditLogPane({ guild }: { guild: GuildFullDto }) {
  const members = useStore((s) => s.members[guild.id]);
  const [userId, setUserId] = useState('');
  const [actionType, setActionType] = useState(0);
  const [page, setPage] = useState<AuditLogPage | null>(null);
  const [error, , run] = useAction();
  useEffect(() => {
    run(
      api
        .auditLog(guild.id, { user_id: userId || undefined, action_type: actionType || undefined })
        .then(setPage),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [guild.id, userId, actionType]);
  const users = new Map<string, PublicUser>((page?.users ?? []).map((u) => [u.id, u]));
  const nameOf = (id: string | null) => (id === null ? 'AutoMod' : (users.get(id)?.username ?? id));
  return (
    <>
      <div className="filters" role="group" aria-label="Audit log filters">
        <label>
          User
          <select value={userId} onChange={(e) => setUserId(e.target.value)}>
            <option value="">Everyone</option>
            {Object.values(members ?? {}).map((m) => (
              <option key={m.user.id} value={m.user.id}>
                {m.user.username}
              </option>
            ))}
          </select>
        </label>
        <label>
          Action
          <select value={actionType} onChange={(e) => setActionType(Number(e.target.value))}>
            <option value={0}>All actions</option>
            {Object.entries(ACTION_NAMES).map(([type, label]) => (
              <option key={type} value={type}>
                {label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorLine error={error} />
      {page && page.audit_log_entries.length === 0 && <p className="muted">Nothing logged.</p>}
      <ul className="settings-list" aria-label="Audit log">
        {(page?.audit_log_entries ?? []).map((e) => (
          <li key={e.id} className="settings-row audit-entry">
            <strong>{nameOf(e.user_id)}</strong> {ACTION_NAMES[e.action_type] ?? `action ${e.action_type}`}
            {e.target_id && users.has(e.target_id) && <> — {nameOf(e.target_id)}</>}
            {e.changes.length > 0 && (
              <span className="muted">
                {' '}
                (
                {e.changes
                  .map((c) => `${c.key}: ${show(c.old_value ?? '')} → ${show(c.new_value ?? '')}`)
                  .join('; ')}
                )
              </span>
            )}
            {e.reason && <div className="muted">Reason: {e.reason}</div>}
          </li>
        ))}
      </ul>
    </>
  );
}
