import type { MessageDto } from '@parley/common/protocol';
import { worthNotifying, type Unread } from './attention';
import { channelPath, navigate } from './router';
import { findChannel, type State } from './store';
import { displayName } from './text';

// The browser side of attention.ts: the favicon badge and desktop notifications.

let plainIcon: string | null = null;
let shownBadge = -1;

/** Draws the count (or a dot for unread without mentions) on the favicon; back to the plain icon at zero. */
export function showFaviconBadge(u: Unread): void {
  const badge = u.mentions > 0 ? u.mentions : u.unread ? 0 : -1;
  if (badge === shownBadge) return;
  shownBadge = badge;
  const link = document.querySelector<HTMLLinkElement>('link[rel="icon"]');
  if (!link) return;
  plainIcon ??= link.href;
  if (badge < 0) {
    link.href = plainIcon;
    return;
  }
  const image = new Image();
  image.onload = () => {
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 64;
    const ctx = canvas.getContext('2d');
    if (!ctx || badge !== shownBadge) return;
    ctx.drawImage(image, 0, 0, 64, 64);
    ctx.fillStyle = '#e5484d';
    ctx.beginPath();
    ctx.arc(46, 46, badge > 0 ? 18 : 12, 0, Math.PI * 2);
    ctx.fill();
    if (badge > 0) {
      ctx.fillStyle = '#fff';
      ctx.font = 'bold 24px sans-serif';
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillText(badge > 9 ? '9+' : String(badge), 46, 47);
    }
    link.href = canvas.toDataURL('image/png');
  };
  image.src = plainIcon;
}

/** A desktop notification while the tab is in the background; a click brings the tab to that channel. */
export function notifyDesktop(s: State, m: MessageDto): void {
  if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
  if (!document.hidden || !worthNotifying(s, m)) return;
  const channel = findChannel(s, m.channel_id);
  if (!channel) return;
  const where = channel.guild_id ? `#${channel.name ?? ''} · ${s.guilds[channel.guild_id]?.name ?? ''}` : '';
  const note = new Notification(where ? `${displayName(m.author)} (${where})` : displayName(m.author), {
    body: m.content.slice(0, 200) || (m.attachments.length ? 'sent a file' : ''),
    tag: m.channel_id,
  });
  note.onclick = () => {
    window.focus();
    navigate(channelPath(channel.guild_id, channel.id));
    note.close();
  };
}
