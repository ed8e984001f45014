import type { GuildFullDto, MemberDto } from '@parley/common/protocol';
import { useState } from 'react';
import { api, openDm } from '../actions';
import { guildPermissions, has, Permission } from '../perms';
import { useStore } from '../store';
import { displayName } from '../text';
import { Dialog, errorText } from './Dialog';
import { ReasonDialog, TIMEOUTS } from './ModerationDialogs';
import { Avatar } from './Message';
import { PresenceDot } from './Sidebar';

function MemberDialog({
  guild,
  member,
  onClose,
}: {
  guild: GuildFullDto;
  member: MemberDto;
  onClose: () => void;
}) {
  const me = useStore((s) => s.me);
  const myMember = useStore((s) => (me ? s.members[guild.id]?.[me.id] : undefined));
  const status = useStore((s) => s.presence[member.user.id]);
  const [confirm, setConfirm] = useState<'kick' | 'ban' | 'timeout' | 'report' | null>(null);
  const [timeoutSeconds, setTimeoutSeconds] = useState(TIMEOUTS[1][1]);
  const blocked = useStore((s) => !!s.blocked[member.user.id]);
  const [error, setError] = useState<string | null>(null);
  if (!me) return null;
  const perms = guildPermissions(guild, me.id, myMember);
  const self = member.user.id === me.id;
  const owner = member.user.id === guild.owner_id;
  const name = displayName(member.user, member.nick);
  const roles = guild.roles.filter((r) => member.roles.includes(r.id));
  return (
    <Dialog title={name} onClose={onClose}>
      <div className="profile">
        <span className="avatar-wrap large">
          <Avatar name={name} id={member.user.id} />
          <PresenceDot status={status} />
        </span>
        <div>
          <p className="muted">@{member.user.username}</p>
          {owner && <p className="muted">Guild owner</p>}
          {roles.length > 0 && (
            <ul className="role-chips" aria-label="Roles">
              {roles.map((r) => (
                <li
                  key={r.id}
                  style={{ borderColor: r.color ? `#${r.color.toString(16).padStart(6, '0')}` : undefined }}
                >
                  {r.name}
                </li>
              ))}
            </ul>
          )}
        </div>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="dialog-actions">
        {!self && (
          <button
            type="button"
            className="primary"
            onClick={() =>
              void openDm(member.user.id).then(onClose, (err: unknown) => setError(errorText(err)))
            }
          >
            Send message
          </button>
        )}
        {!self && !owner && has(perms, Permission.MODERATE_MEMBERS) && (
          <button type="button" className="danger" onClick={() => setConfirm('timeout')}>
            Timeout
          </button>
        )}
        {!self && (
          <button
            type="button"
            className="secondary"
            onClick={() =>
              void (blocked ? api.unblock(member.user.id) : api.block(member.user.id)).catch((err: unknown) =>
                setError(errorText(err)),
              )
            }
          >
            {blocked ? 'Unblock' : 'Block'}
          </button>
        )}
        {!self && (
          <button type="button" className="secondary" onClick={() => setConfirm('report')}>
            Report
          </button>
        )}
        {!self && !owner && has(perms, Permission.KICK_MEMBERS) && (
          <button type="button" className="danger" onClick={() => setConfirm('kick')}>
            Kick
          </button>
        )}
        {!self && !owner && has(perms, Permission.BAN_MEMBERS) && (
          <button type="button" className="danger" onClick={() => setConfirm('ban')}>
            Ban
          </button>
        )}
        <button type="button" className="secondary" onClick={onClose}>
          Close
        </button>
      </div>
      {(confirm === 'kick' || confirm === 'ban') && (
        <ReasonDialog
          title={confirm === 'kick' ? `Kick ${name}` : `Ban ${name}`}
          body={
            confirm === 'kick'
              ? `${name} will leave ${guild.name}. They can come back with an invite.`
              : `${name} will be removed from ${guild.name} and cannot rejoin.`
          }
          confirm={confirm === 'kick' ? 'Kick' : 'Ban'}
          onSubmit={(reason) =>
            (confirm === 'kick'
              ? api.kick(guild.id, member.user.id, reason)
              : api.ban(guild.id, member.user.id, reason)
            ).then(onClose)
          }
          onClose={() => setConfirm(null)}
        />
      )}
      {confirm === 'timeout' && (
        <ReasonDialog
          title={`Timeout ${name}`}
          body={`${name} will only be able to read until the timeout ends.`}
          confirm="Timeout"
          onSubmit={(reason) =>
            api.timeout(
              guild.id,
              member.user.id,
              new Date(Date.now() + timeoutSeconds * 1000).toISOString(),
              reason,
            )
          }
          onClose={() => setConfirm(null)}
        >
          <label>
            Duration
            <select value={timeoutSeconds} onChange={(e) => setTimeoutSeconds(Number(e.target.value))}>
              {TIMEOUTS.map(([label, seconds]) => (
                <option key={seconds} value={seconds}>
                  {label}
                </option>
              ))}
            </select>
          </label>
        </ReasonDialog>
      )}
      {confirm === 'report' && (
        <ReasonDialog
          title={`Report ${name}`}
          confirm="Report"
          reasonRequired
          onSubmit={(reason) =>
            api.report({ reason: reason ?? '', user_id: member.user.id, guild_id: guild.id })
          }
          onClose={() => setConfirm(null)}
        />
      )}
    </Dialog>
  );
}

/** Members of the guild, online first, each with a presence dot. */
export function MemberList({ guild }: { guild: GuildFullDto }) {
  const members = useStore((s) => s.members[guild.id]);
  const presence = useStore((s) => s.presence);
  const [open, setOpen] = useState<MemberDto | null>(null);
  if (!members) return <p className="muted pad">Loading members…</p>;
  const list = Object.values(members).sort((a, b) =>
    displayName(a.user, a.nick).localeCompare(displayName(b.user, b.nick)),
  );
  const isOnline = (m: MemberDto) => {
    const p = presence[m.user.id];
    return p !== undefined && p !== 'offline' && p !== 'invisible';
  };
  const groups: [string, MemberDto[]][] = [
    ['Online', list.filter(isOnline)],
    ['Offline', list.filter((m) => !isOnline(m))],
  ];
  return (
    <>
      {groups.map(([title, group]) =>
        group.length === 0 ? null : (
          <section key={title} aria-label={`${title} members`}>
            <h3 className="section-title">
              {title} — {group.length}
            </h3>
            <ul className="members">
              {group.map((m) => {
                const name = displayName(m.user, m.nick);
                return (
                  <li key={m.user.id} className={isOnline(m) ? '' : 'offline'}>
                    <button type="button" className="member" onClick={() => setOpen(m)}>
                      <span className="avatar-wrap">
                        <Avatar name={name} id={m.user.id} />
                        <PresenceDot status={presence[m.user.id]} />
                      </span>
                      <span className="member-name">{name}</span>
                    </button>
                  </li>
                );
              })}
            </ul>
          </section>
        ),
      )}
      {open && (
        <MemberDialog guild={guild} member={members[open.user.id] ?? open} onClose={() => setOpen(null)} />
      )}
    </>
  );
}
