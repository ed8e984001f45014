import type { ChannelDto } from '@parley/common/protocol';
import { lazy, Suspense, useEffect, useMemo, useRef, useState } from 'react';
import { dismissNotice, loadMembers, reconnect, rememberChannel } from '../actions';
import { guildEmojiSource, registerEmojiSource } from '../emoji';
import { channelPermissions, guildPermissions, has, Permission } from '../perms';
import { channelPath, navigate, type Route } from '../router';
import { useStore } from '../store';
import { ChatView } from './Chat';
import { InviteDialog, NewGuildDialog } from './GuildDialogs';
import { IconBell, IconGear, IconHash, IconInvite, IconMenu, IconPin, IconSearch, IconUsers } from './icons';
import { MemberList } from './Members';
import { NotificationSettingsDialog } from './NotificationSettings';
import { VerifyBanner } from './account/VerifyBanner';
import { PinsPanel } from './PinsPanel';
import { SearchPanel } from './SearchPanel';
import { VoicePanel } from './Voice';
import { ChannelList, DmList, dmName, GuildRail, UserPanel } from './Sidebar';

const GuildSettings = lazy(() => import('./settings/GuildSettings'));

function ConnectionBanner() {
  const connection = useStore((s) => s.connection);
  const synced = useStore((s) => s.synced);
  if (connection === 'replaced')
    return (
      <div className="banner banner-warn" role="status">
        This session continued in another window.{' '}
        <button type="button" className="link" onClick={reconnect}>
          Reconnect here
        </button>
      </div>
    );
  const show = synced && (connection === 'reconnecting' || connection === 'connecting');
  return (
    <div className={show ? 'banner banner-warn' : 'banner banner-hidden'} role="status" aria-live="polite">
      {show ? 'Reconnecting… messages will catch up when the connection is back.' : ''}
    </div>
  );
}

/** Something the person must hear once, e.g. why a guild disappeared (kicked, banned or deleted). */
function Notice() {
  const notice = useStore((s) => s.notice);
  if (!notice) return null;
  return (
    <div className="banner banner-warn" role="alert">
      {notice}{' '}
      <button type="button" className="link" onClick={dismissNotice}>
        Dismiss
      </button>
    </div>
  );
}

type Panel = 'settings' | 'notifications' | 'invite' | 'new-guild' | null;

/** The signed-in app: guild rail, channel sidebar, chat, member list; drawers on narrow screens. */
export function Shell({ route }: { route: Extract<Route, { name: 'home' | 'guild' }> }) {
  const me = useStore((s) => s.me);
  const synced = useStore((s) => s.synced);
  const guild = useStore((s) => (route.name === 'guild' ? s.guilds[route.guildId] : undefined));
  const dms = useStore((s) => s.dms);
  const members = useStore((s) => (route.name === 'guild' ? s.members[route.guildId] : undefined));
  const [drawer, setDrawer] = useState(false);
  const [showMembers, setShowMembers] = useState(() => window.matchMedia('(min-width: 1024px)').matches);
  const [panel, setPanel] = useState<Panel>(null);
  const [searching, setSearching] = useState(false);
  const [pinsOpen, setPinsOpen] = useState(false);
  const main = useRef<HTMLElement>(null);
  const nav = useRef<HTMLDivElement>(null);
  const toggle = useRef<HTMLButtonElement>(null);

  const channel: ChannelDto | undefined = useMemo(() => {
    if (route.name === 'home') return route.channelId ? dms[route.channelId] : undefined;
    return guild?.channels.find((c) => c.id === route.channelId && c.type === 0);
  }, [route, guild, dms]);

  // A guild link without a channel, or to a channel that went away: open its first text channel.
  useEffect(() => {
    if (route.name !== 'guild' || !guild) return;
    if (!channel) {
      const first = guild.channels.find((c) => c.type === 0);
      if (first) navigate(channelPath(guild.id, first.id), true);
    }
  }, [route, guild, channel]);

  // Removed from the guild (or it was deleted) while looking at it.
  useEffect(() => {
    if (synced && route.name === 'guild' && !guild) navigate('/channels/@me', true);
  }, [synced, route, guild]);

  // Loaded once per guild, and again after a fresh READY (which forgets them).
  const guildId = guild?.id;
  const membersLoaded = members !== undefined;
  useEffect(() => {
    if (guildId && !membersLoaded) void loadMembers(guildId).catch(() => undefined);
  }, [guildId, membersLoaded]);

  // The open guild's custom emoji are a section of every emoji picker, kept current by GUILD_EMOJIS_UPDATE.
  const guildName = guild?.name;
  const guildEmojis = guild?.emojis;
  useEffect(() => {
    if (!guildId || !guildEmojis || guildEmojis.length === 0) return;
    return registerEmojiSource(guildEmojiSource(guildId, guildName ?? 'Server', guildEmojis));
  }, [guildId, guildName, guildEmojis]);

  useEffect(() => setDrawer(false), [channel?.id]);

  // Logging in again reopens this channel.
  useEffect(() => {
    if (channel) rememberChannel(channelPath(channel.guild_id, channel.id));
  }, [channel]);

  // The drawer (narrow screens) takes focus when it opens; Escape closes it and returns to its button.
  useEffect(() => {
    if (drawer) nav.current?.querySelector<HTMLElement>('[aria-current="page"], a, button')?.focus();
  }, [drawer]);

  const perms = useMemo(() => {
    if (!guild || !me) return { guild: 0n, channel: 0n };
    const member = members?.[me.id];
    return {
      guild: guildPermissions(guild, me.id, member),
      channel: channel ? channelPermissions(guild, channel, me.id, member) : 0n,
    };
  }, [guild, channel, me, members]);

  if (!me || !synced) {
    return (
      <main className="splash" aria-busy="true">
        <p role="status">Connecting…</p>
      </main>
    );
  }

  const isDm = route.name === 'home';
  const title = channel ? (isDm ? dmName(channel, me.id) : (channel.name ?? '')) : '';
  const people = isDm
    ? (channel?.recipients ?? [])
    : Object.values(members ?? {})
        .map((m) => m.user)
        .filter((u) => u.id !== me.id);
  const canManageGuild =
    has(perms.guild, Permission.MANAGE_GUILD) ||
    has(perms.guild, Permission.MANAGE_CHANNELS) ||
    has(perms.guild, Permission.MANAGE_ROLES) ||
    has(perms.guild, Permission.MANAGE_GUILD_EXPRESSIONS) ||
    has(perms.guild, Permission.KICK_MEMBERS) ||
    has(perms.guild, Permission.BAN_MEMBERS) ||
    has(perms.guild, Permission.VIEW_AUDIT_LOG);

  return (
    <div
      className={`app${drawer ? ' drawer-open' : ''}${(showMembers && guild) || searching || pinsOpen ? ' members-open' : ''}${searching || pinsOpen ? ' search-open' : ''}`}
    >
      <a
        href="#main"
        className="skip-link"
        onClick={(e) => {
          e.preventDefault();
          main.current?.querySelector<HTMLElement>('textarea, [role="log"]')?.focus();
        }}
      >
        Skip to chat
      </a>
      <div
        className="nav-panel"
        id="nav-panel"
        ref={nav}
        onKeyDown={(e) => {
          if (e.key === 'Escape' && drawer) {
            setDrawer(false);
            toggle.current?.focus();
          }
        }}
      >
        <GuildRail
          currentGuild={guild?.id ?? null}
          onNewGuild={() => setPanel('new-guild')}
          onNavigate={() => setDrawer(false)}
        />
        <div className="sidebar">
          <header className="sidebar-header">
            <h2>{guild ? guild.name : 'Home'}</h2>
            {guild && (
              <button
                type="button"
                className="icon-button"
                aria-label="Notification settings"
                title="Notification settings"
                onClick={() => setPanel('notifications')}
              >
                <IconBell size={18} />
              </button>
            )}
            {guild && canManageGuild && (
              <button
                type="button"
                className="icon-button"
                aria-label="Guild settings"
                title="Guild settings"
                onClick={() => setPanel('settings')}
              >
                <IconGear size={18} />
              </button>
            )}
          </header>
          {guild ? (
            <ChannelList
              guild={guild}
              currentChannel={channel?.id ?? null}
              onNavigate={() => setDrawer(false)}
            />
          ) : (
            <DmList currentChannel={channel?.id ?? null} onNavigate={() => setDrawer(false)} />
          )}
          <VoicePanel />
          <UserPanel />
        </div>
      </div>
      {drawer && <div className="scrim" aria-hidden="true" onClick={() => setDrawer(false)} />}
      <main className="chat" id="main" ref={main}>
        <header className="chat-header">
          <button
            ref={toggle}
            type="button"
            className="icon-button nav-toggle"
            aria-label="Open navigation"
            aria-controls="nav-panel"
            aria-expanded={drawer}
            onClick={() => setDrawer(!drawer)}
          >
            <IconMenu />
          </button>
          <h1>
            {channel && !isDm && <IconHash size={20} />}
            <span>{channel ? title : guild ? guild.name : 'Direct messages'}</span>
          </h1>
          {channel?.topic && <p className="topic">{channel.topic}</p>}
          <div className="header-actions">
            {(guild || channel) && (
              <button
                type="button"
                className="icon-button"
                aria-label={guild ? 'Search this guild' : 'Search this conversation'}
                title="Search"
                aria-pressed={searching}
                onClick={() => (setSearching(!searching), setPinsOpen(false))}
              >
                <IconSearch />
              </button>
            )}
            {channel && (
              <button
                type="button"
                className="icon-button"
                aria-label="Pinned messages"
                title="Pinned messages"
                aria-pressed={pinsOpen}
                onClick={() => (setPinsOpen(!pinsOpen), setSearching(false))}
              >
                <IconPin />
              </button>
            )}
            {channel && guild && has(perms.channel, Permission.CREATE_INSTANT_INVITE) && (
              <button
                type="button"
                className="icon-button"
                aria-label="Invite people"
                title="Invite people"
                onClick={() => setPanel('invite')}
              >
                <IconInvite />
              </button>
            )}
            {guild && (
              <button
                type="button"
                className="icon-button"
                aria-label="Members"
                title="Members"
                aria-pressed={showMembers}
                onClick={() => setShowMembers(!showMembers)}
              >
                <IconUsers />
              </button>
            )}
          </div>
        </header>
        <ConnectionBanner />
        <Notice />
        <VerifyBanner />
        {channel ? (
          <ChatView
            key={channel.id}
            channel={channel}
            messageId={route.messageId}
            title={title}
            people={people}
            members={members}
            canSend={isDm || has(perms.channel, Permission.SEND_MESSAGES)}
            canAttach={isDm || has(perms.channel, Permission.ATTACH_FILES)}
            canManage={!isDm && has(perms.channel, Permission.MANAGE_MESSAGES)}
            canReact={isDm || has(perms.channel, Permission.ADD_REACTIONS)}
          />
        ) : (
          <div className="empty">
            {isDm ? (
              <p>Pick a conversation, or open a member of a guild to message them.</p>
            ) : guild ? (
              <p>This guild has no text channel you can see yet.</p>
            ) : (
              <p>Loading…</p>
            )}
            {isDm && (
              <button type="button" className="primary" onClick={() => setPanel('new-guild')}>
                Create or join a guild
              </button>
            )}
          </div>
        )}
      </main>
      {pinsOpen && channel ? (
        <aside className="member-panel search-aside" aria-label="Pins">
          <PinsPanel
            key={channel.id}
            channel={channel}
            canManage={
              !isDm &&
              (has(perms.channel, Permission.MANAGE_MESSAGES) || has(perms.channel, Permission.PIN_MESSAGES))
            }
            onClose={() => setPinsOpen(false)}
          />
        </aside>
      ) : searching && (guild || channel) ? (
        <aside className="member-panel search-aside" aria-label="Search">
          <SearchPanel
            key={guild?.id ?? channel?.id}
            guild={guild}
            dm={guild ? undefined : channel}
            people={[me, ...people]}
            onClose={() => setSearching(false)}
          />
        </aside>
      ) : (
        guild &&
        showMembers && (
          <aside className="member-panel" aria-label="Members">
            <MemberList
              guild={guild}
              channelId={channel?.id ?? guild.channels.find((c) => c.type === 0)?.id}
            />
          </aside>
        )
      )}
      {panel === 'new-guild' && <NewGuildDialog onClose={() => setPanel(null)} />}
      {panel === 'invite' && channel && <InviteDialog channel={channel} onClose={() => setPanel(null)} />}
      {panel === 'notifications' && guild && (
        <NotificationSettingsDialog guild={guild} onClose={() => setPanel(null)} />
      )}
      {panel === 'settings' && guild && (
        <Suspense fallback={null}>
          <GuildSettings guild={guild} perms={perms.guild} onClose={() => setPanel(null)} />
        </Suspense>
      )}
    </div>
  );
}
