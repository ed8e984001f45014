import type { ChannelDto, GuildFullDto } from '@parley/common/protocol';
import { useEffect, useState } from 'react';
import { api, markGuildRead, updateGuildSettings } from '../actions';
import { currentSubscription, disablePush, enablePush, pushSupported } from '../push';
import { useStore } from '../store';
import { Dialog } from './Dialog';
import { ErrorLine, useAction } from './settings/useAction';

/** Discord's levels; 3 follows the guild's default (for a channel: the guild setting). */
const LEVELS = [
  { value: 0, label: 'All messages' },
  { value: 1, label: 'Only @mentions' },
  { value: 2, label: 'Nothing' },
];

/** Mute durations offered, in minutes; null: until unmuted. */
const DURATIONS: { label: string; minutes: number | null }[] = [
  { label: 'For 1 hour', minutes: 60 },
  { label: 'For 8 hours', minutes: 480 },
  { label: 'For 24 hours', minutes: 1440 },
  { label: 'Until I turn it back on', minutes: null },
];

const muteConfig = (minutes: number | null) => ({
  end_time: minutes === null ? null : new Date(Date.now() + minutes * 60_000).toISOString(),
});

function ChannelOverrideRow({
  channel,
  level,
  muted,
  onChange,
}: {
  channel: ChannelDto;
  level: number;
  muted: boolean;
  onChange: (patch: Record<string, unknown>) => void;
}) {
  const name = channel.name ?? '';
  return (
    <li>
      <span>#{name}</span>
      <select
        aria-label={`Notifications for #${name}`}
        value={level}
        onChange={(e) => onChange({ message_notifications: Number(e.target.value) })}
      >
        <option value={3}>Guild setting</option>
        {LEVELS.map((l) => (
          <option key={l.value} value={l.value}>
            {l.label}
          </option>
        ))}
      </select>
      <label className="check">
        <input
          type="checkbox"
          checked={muted}
          onChange={(e) => onChange({ muted: e.target.checked, mute_config: muteConfig(null) })}
        />
        Mute #{name}
      </label>
    </li>
  );
}

/** Desktop notifications are the browser's to allow: asked for on a click, as browsers require. */
function DesktopNotifications() {
  const supported = typeof Notification !== 'undefined';
  const [permission, setPermission] = useState(supported ? Notification.permission : 'denied');
  if (!supported) return null;
  return (
    <p className="muted">
      {permission === 'granted' ? (
        'Desktop notifications are on while Parley is in a background tab.'
      ) : permission === 'denied' ? (
        'Desktop notifications are blocked in this browser’s site settings.'
      ) : (
        <button type="button" onClick={() => void Notification.requestPermission().then(setPermission)}>
          Enable desktop notifications
        </button>
      )}
    </p>
  );
}

/** Web Push for this browser: notifications while Parley is closed (a service worker shows them). */
function PushNotifications() {
  const supported = pushSupported();
  const [on, setOn] = useState<boolean | null>(null);
  const [error, busy, run] = useAction();
  useEffect(() => {
    if (supported) void currentSubscription().then((s) => setOn(s !== null));
  }, [supported]);
  if (!supported) return null;
  const toggle = (wanted: boolean) => run((wanted ? enablePush() : disablePush()).then(() => setOn(wanted)));
  return (
    <>
      <label>
        <input
          type="checkbox"
          aria-label="Push notifications"
          checked={on === true}
          disabled={busy || on === null}
          onChange={(e) => toggle(e.target.checked)}
        />
        Push notifications when Parley is closed (DMs and mentions)
      </label>
      <ErrorLine error={error} />
    </>
  );
}

/** Mail about unread mentions and DMs (off after an unsubscribe link; on again from here). */
function EmailNotifications() {
  const [prefs, setPrefs] = useState<{ email: boolean; available: boolean } | null>(null);
  const [error, busy, run] = useAction();
  useEffect(() => {
    void api
      .request<{ email: boolean; available: boolean }>('GET', '/users/@me/notification-preferences')
      .then(setPrefs, () => setPrefs(null));
  }, []);
  if (!prefs?.available) return null;
  const toggle = (email: boolean) =>
    run(
      api
        .request<{ email: boolean; available: boolean }>('PATCH', '/users/@me/notification-preferences', {
          email,
        })
        .then(setPrefs),
    );
  return (
    <>
      <label>
        <input
          type="checkbox"
          aria-label="Email notifications"
          checked={prefs.email}
          disabled={busy}
          onChange={(e) => toggle(e.target.checked)}
        />
        Email me about mentions and DMs I have not read
      </label>
      <ErrorLine error={error} />
    </>
  );
}

/**
 * The user's notification settings in one guild: the level (or the guild's default), muting the guild for a
 * while, suppressing @everyone and role mentions, and per-channel overrides. Each change is saved at once.
 */
export function NotificationSettingsDialog({ guild, onClose }: { guild: GuildFullDto; onClose: () => void }) {
  const settings = useStore((s) => s.guildSettings[guild.id]);
  const [error, busy, run] = useAction();
  const [duration, setDuration] = useState(0);
  const save = (patch: Record<string, unknown>) => run(updateGuildSettings(guild.id, patch));
  const level = settings?.message_notifications ?? 3;
  const guildDefault = guild.default_message_notifications === 1 ? 'Only @mentions' : 'All messages';
  const muted = settings?.muted ?? false;
  const overrides = new Map((settings?.channel_overrides ?? []).map((o) => [o.channel_id, o]));
  const channels = guild.channels.filter((c) => c.type === 0 || c.type === 4);
  return (
    <Dialog title={`Notifications in ${guild.name}`} onClose={onClose} wide>
      <fieldset className="notify-levels" disabled={busy}>
        <legend>Notify me about</legend>
        <label className="check">
          <input
            type="radio"
            name="level"
            checked={level === 3}
            onChange={() => save({ message_notifications: 3 })}
          />
          Guild default ({guildDefault})
        </label>
        {LEVELS.map((l) => (
          <label key={l.value} className="check">
            <input
              type="radio"
              name="level"
              checked={level === l.value}
              onChange={() => save({ message_notifications: l.value })}
            />
            {l.label}
          </label>
        ))}
      </fieldset>
      <fieldset className="notify-levels" disabled={busy}>
        <legend>Mute</legend>
        {muted ? (
          <p>
            Muted
            {settings?.mute_config?.end_time
              ? ` until ${new Date(settings.mute_config.end_time).toLocaleString()}`
              : ' until you unmute it'}
            .{' '}
            <button type="button" onClick={() => save({ muted: false })}>
              Unmute {guild.name}
            </button>
          </p>
        ) : (
          <div className="settings-row">
            <select
              aria-label="Mute for"
              value={duration}
              onChange={(e) => setDuration(Number(e.target.value))}
            >
              {DURATIONS.map((d, i) => (
                <option key={d.label} value={i}>
                  {d.label}
                </option>
              ))}
            </select>
            <button
              type="button"
              onClick={() => save({ muted: true, mute_config: muteConfig(DURATIONS[duration].minutes) })}
            >
              Mute {guild.name}
            </button>
          </div>
        )}
        <label className="check">
          <input
            type="checkbox"
            checked={settings?.suppress_everyone ?? false}
            onChange={(e) => save({ suppress_everyone: e.target.checked })}
          />
          Suppress @everyone and @here
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={settings?.suppress_roles ?? false}
            onChange={(e) => save({ suppress_roles: e.target.checked })}
          />
          Suppress all role @mentions
        </label>
      </fieldset>
      <h3>Channels and categories</h3>
      <ul className="notify-channels">
        {channels.map((c) => {
          const o = overrides.get(c.id);
          return (
            <ChannelOverrideRow
              key={c.id}
              channel={c}
              level={o?.message_notifications ?? 3}
              muted={o?.muted ?? false}
              onChange={(patch) => save({ channel_overrides: { [c.id]: patch } })}
            />
          );
        })}
      </ul>
      <DesktopNotifications />
      <PushNotifications />
      <EmailNotifications />
      <ErrorLine error={error} />
      <div className="dialog-actions">
        <button type="button" onClick={() => markGuildRead(guild.id)}>
          Mark {guild.name} as read
        </button>
        <button type="button" className="primary" onClick={onClose}>
          Done
        </button>
      </div>
    </Dialog>
  );
}
