import type {
  BanDto,
  ChannelDto,
  GuildFullDto,
  InviteDto,
  MemberDto,
  RoleDto,
} from '@parley/common/protocol';
import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent, type ReactNode } from 'react';
import { api, loadMembers } from '../actions';
import { has, Permission } from '../perms';
import { navigate } from '../router';
import { useStore } from '../store';
import { displayName } from '../text';
import { ConfirmDialog, Dialog, errorText } from './Dialog';
import { inviteUrl } from './GuildDialogs';

type Tab = 'overview' | 'channels' | 'roles' | 'members' | 'invites' | 'bans';

function useAction(): [string | null, boolean, (p: Promise<unknown>, after?: () => void) => void] {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = (p: Promise<unknown>, after?: () => void) => {
    setBusy(true);
    setError(null);
    p.then(
      () => {
        setBusy(false);
        after?.();
      },
      (err: unknown) => {
        setBusy(false);
        setError(errorText(err));
      },
    );
  };
  return [error, busy, run];
}

function ErrorLine({ error }: { error: string | null }) {
  return error ? (
    <p className="error" role="alert">
      {error}
    </p>
  ) : null;
}

function Overview({ guild, onClose }: { guild: GuildFullDto; onClose: () => void }) {
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

function ChannelRow({ channel, categories }: { channel: ChannelDto; categories: ChannelDto[] }) {
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
            <label className="field inline">
              <span>Category</span>
              <select value={parent} onChange={(e) => setParent(e.target.value)}>
                <option value="">None</option>
                {categories.map((k) => (
                  <option key={k.id} value={k.id}>
                    {k.name}
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

function Channels({ guild }: { guild: GuildFullDto }) {
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
          <label className="field inline">
            <span>Category</span>
            <select value={parent} onChange={(e) => setParent(e.target.value)}>
              <option value="">None</option>
              {categories.map((k) => (
                <option key={k.id} value={k.id}>
                  {k.name}
                </option>
              ))}
            </select>
          </label>
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

function RoleEditor({ guild, role }: { guild: GuildFullDto; role: RoleDto }) {
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

function Roles({ guild }: { guild: GuildFullDto }) {
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

function MemberRow({ guild, member, perms }: { guild: GuildFullDto; member: MemberDto; perms: bigint }) {
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

function Members({ guild, perms }: { guild: GuildFullDto; perms: bigint }) {
  const members = useStore((s) => s.members[guild.id]);
  const me = useStore((s) => s.me);
  useEffect(() => {
    void loadMembers(guild.id).catch(() => undefined);
  }, [guild.id]);
  if (!members) return <p className="muted">Loading members…</p>;
  return (
    <ul className="settings-list" aria-label="Members">
      {Object.values(members)
        .filter((m) => m.user.id !== me?.id)
        .map((m) => (
          <MemberRow key={m.user.id} guild={guild} member={m} perms={perms} />
        ))}
    </ul>
  );
}

function Invites({ guild }: { guild: GuildFullDto }) {
  const [invites, setInvites] = useState<InviteDto[] | null>(null);
  const [error, , run] = useAction();
  const refresh = () => run(api.guildInvites(guild.id).then((list) => setInvites(list)));
  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(refresh, [guild.id]);
  return (
    <>
      <ErrorLine error={error} />
      {invites && invites.length === 0 && (
        <p className="muted">No active invites. Use “Invite people” in a channel.</p>
      )}
      <ul className="settings-list" aria-label="Invites">
        {(invites ?? []).map((i) => (
          <li key={i.code} className="settings-row">
            <code>{inviteUrl(i.code)}</code>
            <span className="muted">
              {' '}
              #{i.channel.name} · {i.uses} uses{i.max_uses ? ` of ${i.max_uses}` : ''} ·{' '}
              {i.expires_at ? `expires ${new Date(i.expires_at).toLocaleString()}` : 'never expires'}
              {i.inviter ? ` · by ${i.inviter.username}` : ''}
            </span>
            <div className="row-actions">
              <button type="button" className="danger" onClick={() => run(api.deleteInvite(i.code), refresh)}>
                Revoke
              </button>
            </div>
          </li>
        ))}
      </ul>
    </>
  );
}

function Bans({ guild }: { guild: GuildFullDto }) {
  const [bans, setBans] = useState<BanDto[] | null>(null);
  const [error, , run] = useAction();
  const refresh = () => run(api.bans(guild.id).then(setBans));
  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(refresh, [guild.id]);
  return (
    <>
      <ErrorLine error={error} />
      {bans && bans.length === 0 && <p className="muted">Nobody is banned.</p>}
      <ul className="settings-list" aria-label="Bans">
        {(bans ?? []).map((b) => (
          <li key={b.user.id} className="settings-row">
            <strong>{b.user.username}</strong>
            {b.reason && <span className="muted"> — {b.reason}</span>}
            <div className="row-actions">
              <button
                type="button"
                className="secondary"
                onClick={() => run(api.unban(guild.id, b.user.id), refresh)}
              >
                Unban
              </button>
            </div>
          </li>
        ))}
      </ul>
    </>
  );
}

/** Guild settings, one tab per thing the member may manage. */
export default function GuildSettings({
  guild,
  perms,
  onClose,
}: {
  guild: GuildFullDto;
  perms: bigint;
  onClose: () => void;
}) {
  const tabs: [Tab, string, boolean][] = [
    ['overview', 'Overview', has(perms, Permission.MANAGE_GUILD)],
    ['channels', 'Channels', has(perms, Permission.MANAGE_CHANNELS)],
    ['roles', 'Roles', has(perms, Permission.MANAGE_ROLES)],
    [
      'members',
      'Members',
      has(perms, Permission.KICK_MEMBERS) ||
        has(perms, Permission.BAN_MEMBERS) ||
        has(perms, Permission.MANAGE_ROLES),
    ],
    ['invites', 'Invites', has(perms, Permission.MANAGE_GUILD)],
    ['bans', 'Bans', has(perms, Permission.BAN_MEMBERS)],
  ];
  const allowed = tabs.filter(([, , ok]) => ok);
  const [tab, setTab] = useState<Tab>(allowed[0]?.[0] ?? 'overview');
  const tabRefs = useRef<Record<string, HTMLButtonElement | null>>({});
  const onKey = (e: KeyboardEvent) => {
    const i = allowed.findIndex(([t]) => t === tab);
    let next = i;
    if (e.key === 'ArrowRight' || e.key === 'ArrowDown') next = (i + 1) % allowed.length;
    else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') next = (i - 1 + allowed.length) % allowed.length;
    else return;
    e.preventDefault();
    const t = allowed[next][0];
    setTab(t);
    tabRefs.current[t]?.focus();
  };
  let body: ReactNode = null;
  switch (tab) {
    case 'overview':
      body = <Overview guild={guild} onClose={onClose} />;
      break;
    case 'channels':
      body = <Channels guild={guild} />;
      break;
    case 'roles':
      body = <Roles guild={guild} />;
      break;
    case 'members':
      body = <Members guild={guild} perms={perms} />;
      break;
    case 'invites':
      body = <Invites guild={guild} />;
      break;
    case 'bans':
      body = <Bans guild={guild} />;
      break;
  }
  return (
    <Dialog title={`${guild.name} settings`} onClose={onClose} wide>
      <div className="settings">
        <div
          role="tablist"
          aria-label="Settings sections"
          aria-orientation="vertical"
          className="tabs"
          onKeyDown={onKey}
        >
          {allowed.map(([t, label]) => (
            <button
              key={t}
              ref={(el) => {
                tabRefs.current[t] = el;
              }}
              type="button"
              role="tab"
              id={`tab-${t}`}
              aria-selected={tab === t}
              aria-controls={`panel-${t}`}
              tabIndex={tab === t ? 0 : -1}
              onClick={() => setTab(t)}
            >
              {label}
            </button>
          ))}
        </div>
        <div
          role="tabpanel"
          id={`panel-${tab}`}
          aria-labelledby={`tab-${tab}`}
          className="tab-panel"
          tabIndex={0}
        >
          {body}
        </div>
      </div>
      <div className="dialog-actions">
        <button type="button" className="secondary" onClick={onClose}>
          Close
        </button>
      </div>
    </Dialog>
  );
}
