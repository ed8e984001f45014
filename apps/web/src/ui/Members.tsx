import type { GuildFullDto, MemberDto } from '@parley/common/protocol';
import { type ReactNode, useEffect, useRef, useState } from 'react';
import { api, memberListUpdates, openDm, subscribeMembers } from '../actions';
import { type ListItem, type ListUpdate, applyListUpdate, rangesFor } from '../member-list';
import { colorStyle, guildPermissions, has, Permission, roleColor } from '../perms';
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

const ROW = 44;
/** Rows rendered beyond the visible ones on each side. */
const OVERSCAN = 10;

function groupTitle(guild: GuildFullDto, id: string): string {
  if (id === 'online') return 'Online';
  if (id === 'offline') return 'Offline';
  return guild.roles.find((r) => r.id === id)?.name ?? id;
}

/**
 * The member list of the channel in view, from the gateway's member-list subscription (docs/gateway.md, "Member
 * lists"): only the rows in view (and the block after) are subscribed and rendered, so a guild of any size costs
 * the same; groups stay labelled regions, each row a button with the member's presence.
 */
export function MemberList({ guild, channelId }: { guild: GuildFullDto; channelId: string | undefined }) {
  const connection = useStore((s) => s.connection);
  const [rows, setRows] = useState<Array<ListItem | undefined>>([]);
  const [groups, setGroups] = useState<ListUpdate['groups'] | null>(null);
  const [view, setView] = useState<[number, number]>([0, 30]);
  const [open, setOpen] = useState<MemberDto | null>(null);
  const listId = useRef<string | null>(null);
  const ref = useRef<HTMLDivElement>(null);
  const ranges = JSON.stringify(rangesFor(view[0], view[1]));

  useEffect(() => {
    listId.current = null;
    setRows([]);
    setGroups(null);
    const onUpdate = (e: Event) => {
      const u = (e as CustomEvent<ListUpdate>).detail;
      if (u.guild_id !== guild.id) return;
      // A SYNC starts (or restarts) the list we watch; ops of a list we left are ignored.
      if (u.ops.some((op) => op.op === 'SYNC')) listId.current = u.id;
      else if (u.id !== listId.current) return;
      setRows((r) => applyListUpdate(r, u));
      setGroups(u.groups);
    };
    memberListUpdates.addEventListener('update', onUpdate);
    return () => {
      memberListUpdates.removeEventListener('update', onUpdate);
      void subscribeMembers(guild.id, null, []);
    };
  }, [guild.id, channelId]);

  useEffect(() => {
    if (!channelId || connection !== 'ready') return;
    void subscribeMembers(guild.id, channelId, JSON.parse(ranges) as Array<[number, number]>);
  }, [guild.id, channelId, ranges, connection]);

  useEffect(() => {
    const pane = ref.current?.closest('.member-panel');
    if (!pane) return;
    const onScroll = () => {
      const first = Math.floor(pane.scrollTop / ROW);
      setView([first, first + Math.ceil(pane.clientHeight / ROW)]);
    };
    onScroll();
    pane.addEventListener('scroll', onScroll, { passive: true });
    return () => pane.removeEventListener('scroll', onScroll);
  }, []);

  const length = rows.length;
  const from = Math.max(0, view[0] - OVERSCAN);
  const to = Math.min(length - 1, view[1] + OVERSCAN);
  const sections: Array<{ id: string; count: number; header: number }> = [];
  let at = 0;
  for (const g of groups ?? []) {
    if (at + g.count >= from && at <= to) sections.push({ ...g, header: at });
    at += g.count + 1;
  }
  return (
    <div ref={ref} style={{ paddingTop: from * ROW, paddingBottom: Math.max(0, length - 1 - to) * ROW }}>
      {!groups && <p className="muted pad">Loading members…</p>}
      {sections.map(({ id, count, header }) => {
        const title = groupTitle(guild, id);
        const items: ReactNode[] = [];
        for (let i = Math.max(header + 1, from); i <= Math.min(header + count, to); i++) {
          const item = rows[i];
          if (!item || !('member' in item)) {
            items.push(
              <li key={`row-${i}`} aria-busy="true" className="member-placeholder member-row">
                …
              </li>,
            );
            continue;
          }
          const m = item.member;
          const name = displayName(m.user, m.nick);
          const status = m.presence?.status ?? 'offline';
          items.push(
            <li key={m.user.id} className={status === 'offline' ? 'offline' : ''}>
              <button type="button" className="member" onClick={() => setOpen(m)}>
                <span className="avatar-wrap">
                  <Avatar name={name} id={m.user.id} />
                  <PresenceDot status={status} />
                </span>
                <span className="member-name" style={colorStyle(roleColor(guild.roles, m.roles))}>
                  {name}
                </span>
              </button>
            </li>,
          );
        }
        return (
          <section key={id} aria-label={`${title} members`}>
            {header >= from && (
              <h3 className="section-title member-row">
                {title} — {count}
              </h3>
            )}
            <ul className="members">{items}</ul>
          </section>
        );
      })}
      {open && <MemberDialog guild={guild} member={open} onClose={() => setOpen(null)} />}
    </div>
  );
}
