import type { ChannelDto, GuildFullDto } from '@parley/common/protocol';
import { useState, type MouseEvent, type ReactNode } from 'react';
import { setStatus, signOut } from '../actions';
import { channelPath, navigate } from '../router';
import { isMuted, isUnread, mentionCount, useStore, type PresenceStatus, type State } from '../store';
import { compareIds, displayName } from '../text';
import { Avatar } from './Message';
import { VoiceChannelItem } from './Voice';
import { AccountDialog } from './account/AccountDialog';
import { AdminPanel, useInstanceAdmin } from './admin/AdminPanel';
import { IconChat, IconGear, IconHash, IconLogout, IconPlus, IconShield } from './icons';

export function PresenceDot({ status }: { status: PresenceStatus | undefined }) {
  const s = status === 'invisible' || !status ? 'offline' : status;
  const label = { online: 'Online', idle: 'Idle', dnd: 'Do not disturb', offline: 'Offline' }[s];
  return <span className={`dot dot-${s}`} role="img" aria-label={label} title={label} />;
}

function go(path: string, after?: () => void) {
  return (e: MouseEvent) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
    e.preventDefault();
    navigate(path);
    after?.();
  };
}

function initials(name: string): string {
  return name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => w[0].toUpperCase())
    .join('');
}

function guildUnread(s: State, guild: GuildFullDto): { unread: boolean; mentions: number } {
  let unread = false;
  let mentions = 0;
  for (const c of guild.channels) {
    if (c.type !== 0) continue;
    // Muted channels (or a muted guild) keep their mention badges but never mark the guild unread.
    if (isUnread(s, c) && !isMuted(s, c)) unread = true;
    mentions += mentionCount(s, c.id);
  }
  return { unread, mentions };
}

function RailItem({
  href,
  label,
  current,
  unread,
  mentions,
  children,
  onNavigate,
}: {
  href: string;
  label: string;
  current: boolean;
  unread: boolean;
  mentions: number;
  children: ReactNode;
  onNavigate?: () => void;
}) {
  const extra = [unread ? 'unread messages' : '', mentions ? `${mentions} mentions` : '']
    .filter(Boolean)
    .join(', ');
  return (
    <li className={`rail-item${current ? ' current' : ''}${unread ? ' unread' : ''}`}>
      <a
        href={href}
        aria-current={current ? 'page' : undefined}
        aria-label={extra ? `${label}, ${extra}` : label}
        title={label}
        onClick={go(href, onNavigate)}
      >
        {children}
      </a>
      {mentions > 0 && (
        <span className="badge" aria-hidden="true">
          {mentions}
        </span>
      )}
    </li>
  );
}

/** The column of guilds: home (DMs), each guild, and a button to create or join one. */
export function GuildRail({
  currentGuild,
  onNewGuild,
  onNavigate,
}: {
  currentGuild: string | null;
  onNewGuild: () => void;
  onNavigate?: () => void;
}) {
  const s = useStore((st) => st);
  const dmUnread = Object.values(s.dms).some((c) => isUnread(s, c));
  const dmMentions = Object.values(s.dms).reduce((n, c) => n + mentionCount(s, c.id), 0);
  return (
    <nav className="rail" aria-label="Guilds">
      <ul>
        <RailItem
          href="/channels/@me"
          label="Direct messages"
          current={currentGuild === null}
          unread={dmUnread}
          mentions={dmMentions}
          onNavigate={onNavigate}
        >
          <IconChat />
        </RailItem>
        <li className="rail-sep" role="separator" />
        {s.guildOrder.map((id) => {
          const guild = s.guilds[id];
          if (!guild) return null;
          const first = guild.channels.find((c) => c.type === 0);
          const { unread, mentions } = guildUnread(s, guild);
          return (
            <RailItem
              key={id}
              href={first ? channelPath(id, first.id) : `/channels/${id}`}
              label={guild.name}
              current={currentGuild === id}
              unread={unread}
              mentions={mentions}
              onNavigate={onNavigate}
            >
              <span aria-hidden="true">{initials(guild.name)}</span>
            </RailItem>
          );
        })}
        <li>
          <button
            type="button"
            className="rail-add"
            aria-label="New guild"
            title="New guild"
            onClick={onNewGuild}
          >
            <IconPlus />
          </button>
        </li>
      </ul>
    </nav>
  );
}

function ChannelLink({
  channel,
  current,
  onNavigate,
}: {
  channel: ChannelDto;
  current: boolean;
  onNavigate?: () => void;
}) {
  const muted = useStore((s) => isMuted(s, channel));
  const unread = useStore((s) => isUnread(s, channel)) && !muted;
  const mentions = useStore((s) => mentionCount(s, channel.id));
  const href = channelPath(channel.guild_id, channel.id);
  const extra = [muted ? 'muted' : '', unread ? 'unread' : '', mentions ? `${mentions} mentions` : '']
    .filter(Boolean)
    .join(', ');
  return (
    <li>
      <a
        href={href}
        className={`channel${current ? ' current' : ''}${unread ? ' unread' : ''}${muted ? ' muted' : ''}`}
        aria-current={current ? 'page' : undefined}
        aria-label={extra ? `${channel.name ?? ''}, ${extra}` : undefined}
        onClick={go(href, onNavigate)}
      >
        <IconHash size={18} />
        <span className="channel-name">{channel.name}</span>
        {mentions > 0 && (
          <span className="badge" aria-hidden="true">
            {mentions}
          </span>
        )}
      </a>
    </li>
  );
}

function Category({ name, children }: { name: string; children: ReactNode }) {
  const [open, setOpen] = useState(true);
  return (
    <li className="category">
      <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>
        <span aria-hidden="true" className="chevron">
          {open ? '▾' : '▸'}
        </span>
        {name}
      </button>
      {open && <ul>{children}</ul>}
    </li>
  );
}

/** A guild's text channels, those without a category first, then each category with its channels. */
export function ChannelList({
  guild,
  currentChannel,
  onNavigate,
}: {
  guild: GuildFullDto;
  currentChannel: string | null;
  onNavigate?: () => void;
}) {
  // Text channels and voice channels (type 2), in their position order.
  const text = guild.channels.filter((c) => c.type === 0 || c.type === 2);
  const categories = guild.channels.filter((c) => c.type === 4);
  const loose = text.filter((c) => !c.parent_id || !categories.some((k) => k.id === c.parent_id));
  const link = (c: ChannelDto) =>
    c.type === 2 ? (
      <VoiceChannelItem key={c.id} channel={c} />
    ) : (
      <ChannelLink key={c.id} channel={c} current={c.id === currentChannel} onNavigate={onNavigate} />
    );
  return (
    <nav className="channels" aria-label={`${guild.name} channels`}>
      <ul>
        {loose.map(link)}
        {categories.map((k) => (
          <Category key={k.id} name={k.name ?? ''}>
            {text.filter((c) => c.parent_id === k.id).map(link)}
          </Category>
        ))}
      </ul>
    </nav>
  );
}

export function dmName(channel: ChannelDto, meId: string | undefined): string {
  const others = (channel.recipients ?? []).filter((u) => u.id !== meId);
  return others.map((u) => displayName(u)).join(', ') || 'Direct message';
}

export function DmList({
  currentChannel,
  onNavigate,
}: {
  currentChannel: string | null;
  onNavigate?: () => void;
}) {
  const dms = useStore((s) => s.dms);
  const me = useStore((s) => s.me);
  const presence = useStore((s) => s.presence);
  const state = useStore((s) => s);
  const list = Object.values(dms).sort((a, b) =>
    compareIds(b.last_message_id ?? b.id, a.last_message_id ?? a.id),
  );
  return (
    <nav className="channels" aria-label="Direct messages">
      <h2 className="section-title">Direct messages</h2>
      {list.length === 0 && (
        <p className="muted pad">No conversations yet. Open a member of a guild to message them.</p>
      )}
      <ul>
        {list.map((c) => {
          const other = (c.recipients ?? []).find((u) => u.id !== me?.id);
          const href = channelPath(undefined, c.id);
          const unread = isUnread(state, c);
          const name = dmName(c, me?.id);
          return (
            <li key={c.id}>
              <a
                href={href}
                className={`channel dm${c.id === currentChannel ? ' current' : ''}${unread ? ' unread' : ''}`}
                aria-current={c.id === currentChannel ? 'page' : undefined}
                aria-label={unread ? `${name}, unread` : undefined}
                onClick={go(href, onNavigate)}
              >
                <span className="avatar-wrap">
                  <Avatar name={name} id={other?.id ?? c.id} />
                  <PresenceDot status={other ? presence[other.id] : undefined} />
                </span>
                <span className="channel-name">{name}</span>
              </a>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}

/** Who is signed in, their status, and the way out. */
export function UserPanel() {
  const me = useStore((s) => s.me);
  const own = useStore((s) => s.ownStatus);
  const [account, setAccount] = useState(false);
  const [adminOpen, setAdminOpen] = useState(false);
  const instanceAdmin = useInstanceAdmin(me?.id ?? null);
  if (!me) return null;
  return (
    <div className="user-panel">
      <span className="avatar-wrap">
        <Avatar name={displayName(me)} id={me.id} />
        <PresenceDot status={own} />
      </span>
      <div className="user-names">
        <strong>{displayName(me)}</strong>
        <select
          aria-label="Status"
          value={own === 'offline' ? 'invisible' : own}
          onChange={(e) => void setStatus(e.target.value as 'online')}
        >
          <option value="online">Online</option>
          <option value="idle">Idle</option>
          <option value="dnd">Do not disturb</option>
          <option value="invisible">Invisible</option>
        </select>
      </div>
      <button
        type="button"
        className="icon-button"
        aria-label="My account"
        title="My account"
        onClick={() => setAccount(true)}
      >
        <IconGear />
      </button>
      {instanceAdmin && (
        <button
          type="button"
          className="icon-button"
          aria-label="Instance admin"
          title="Instance admin"
          onClick={() => setAdminOpen(true)}
        >
          <IconShield />
        </button>
      )}
      <button
        type="button"
        className="icon-button"
        aria-label="Log out"
        title="Log out"
        onClick={() => void signOut()}
      >
        <IconLogout />
      </button>
      {account && <AccountDialog onClose={() => setAccount(false)} />}
      {adminOpen && <AdminPanel onClose={() => setAdminOpen(false)} />}
    </div>
  );
}
