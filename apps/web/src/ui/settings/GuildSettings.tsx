import type { GuildFullDto } from '@parley/common/protocol';
import { useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import { has, Permission } from '../../perms';
import { Dialog } from '../Dialog';
import { AuditLogPane } from './AuditLogPane';
import { AutoModPane } from './AutoModPane';
import { BansPane } from './BansPane';
import { BotsPane } from './BotsPane';
import { ChannelsPane } from './ChannelsPane';
import { EmojiPane } from './EmojiPane';
import { InvitesPane } from './InvitesPane';
import { MembersPane } from './MembersPane';
import { OverviewPane } from './OverviewPane';
import { RolesPane } from './RolesPane';
import { WebhooksPane } from './WebhooksPane';

type Tab =
  | 'overview'
  | 'channels'
  | 'roles'
  | 'emoji'
  | 'members'
  | 'invites'
  | 'webhooks'
  | 'bots'
  | 'bans'
  | 'automod'
  | 'audit';

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
    ['emoji', 'Emoji', has(perms, Permission.MANAGE_GUILD_EXPRESSIONS)],
    [
      'members',
      'Members',
      has(perms, Permission.KICK_MEMBERS) ||
        has(perms, Permission.BAN_MEMBERS) ||
        has(perms, Permission.MANAGE_ROLES),
    ],
    ['invites', 'Invites', has(perms, Permission.MANAGE_GUILD)],
    ['webhooks', 'Integrations', has(perms, Permission.MANAGE_WEBHOOKS)],
    ['bots', 'Bots', has(perms, Permission.MANAGE_GUILD)],
    ['bans', 'Bans', has(perms, Permission.BAN_MEMBERS)],
    ['automod', 'AutoMod', has(perms, Permission.MANAGE_GUILD)],
    ['audit', 'Audit log', has(perms, Permission.VIEW_AUDIT_LOG)],
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
      body = <OverviewPane guild={guild} onClose={onClose} />;
      break;
    case 'channels':
      body = <ChannelsPane guild={guild} />;
      break;
    case 'roles':
      body = <RolesPane guild={guild} />;
      break;
    case 'emoji':
      body = <EmojiPane guild={guild} />;
      break;
    case 'members':
      body = <MembersPane guild={guild} perms={perms} />;
      break;
    case 'invites':
      body = <InvitesPane guild={guild} />;
      break;
    case 'webhooks':
      body = <WebhooksPane guild={guild} />;
      break;
    case 'bots':
      body = <BotsPane guild={guild} />;
      break;
    case 'bans':
      body = <BansPane guild={guild} />;
      break;
    case 'automod':
      body = <AutoModPane guild={guild} />;
      break;
    case 'audit':
      body = <AuditLogPane guild={guild} />;
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
