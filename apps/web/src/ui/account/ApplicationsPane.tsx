import type { GuildFullDto } from '@parley/common/protocol';
import { useCallback, useEffect, useState } from 'react';
import { api } from '../../actions';
import type { ApplicationInfo } from '../../api';
import { Permission, guildPermissions, has } from '../../perms';
import { getState, useStore } from '../../store';
import { ErrorLine, useAction } from '../settings/useAction';

// Discord's application flags for the privileged intents a bot may ask for.
const PRIVILEGED: [number, string][] = [
  [1 << 18, 'Message content'],
  [1 << 14, 'Server members'],
  [1 << 12, 'Presence'],
];

/**
 * The person's developer screen: their bot applications (`GET /applications`), creating one, its privileged
 * intents, resetting its token (shown once), and adding it to a guild where they have MANAGE_GUILD (the direct
 * route, `PUT /guilds/:id/members/:bot_id`).
 */
export function ApplicationsPane() {
  const [apps, setApps] = useState<ApplicationInfo[] | null>(null);
  const [name, setName] = useState('');
  const [flags, setFlags] = useState(0);
  const [token, setToken] = useState<{ name: string; token: string } | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [error, busy, run] = useAction();
  const manageable = useManageableGuilds();

  const load = useCallback(() => run(api.applications().then(setApps)), []); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(load, [load]);

  const create = () =>
    run(
      api.createApplication(name.trim(), flags).then((app) => {
        setToken({ name: app.name, token: app.token });
        setName('');
        setFlags(0);
      }),
      load,
    );

  return (
    <section aria-label="Applications">
      <ErrorLine error={error} />
      <form
        className="settings-form"
        aria-label="Create an application"
        onSubmit={(e) => {
          e.preventDefault();
          create();
        }}
      >
        <label>
          Application name
          <input
            value={name}
            onChange={(e) => setName(e.target.value)}
            minLength={2}
            maxLength={32}
            required
          />
        </label>
        <Intents flags={flags} onChange={setFlags} />
        <button type="submit" disabled={busy || name.trim().length < 2}>
          Create application
        </button>
      </form>
      {token && (
        <div className="settings-row" role="status" aria-label="New bot token">
          <p>
            The token of <strong>{token.name}</strong>, shown only now: copy it into the bot's configuration.
          </p>
          <code className="secret">{token.token}</code>
        </div>
      )}
      {status && <p role="status">{status}</p>}
      <ul className="applications">
        {(apps ?? []).map((app) => (
          <ApplicationRow
            key={app.id}
            app={app}
            guilds={manageable}
            busy={busy}
            onFlags={(next) =>
              run(api.updateApplication(app.id, next).then((updated) => replace(setApps, updated)))
            }
            onReset={() =>
              run(api.resetBotToken(app.id).then((t) => setToken({ name: app.name, token: t.token })))
            }
            onAdd={(guild) =>
              run(
                api
                  .addBot(guild.id, app.id)
                  .then((member) =>
                    setStatus(
                      member
                        ? `${app.name} joined ${guild.name}.`
                        : `${app.name} is already in ${guild.name}.`,
                    ),
                  ),
              )
            }
          />
        ))}
      </ul>
      {apps?.length === 0 && <p>No applications yet.</p>}
    </section>
  );
}

function ApplicationRow(props: {
  app: ApplicationInfo;
  guilds: GuildFullDto[];
  busy: boolean;
  onFlags: (flags: number) => void;
  onReset: () => void;
  onAdd: (guild: GuildFullDto) => void;
}) {
  const { app, guilds, busy } = props;
  const [guildId, setGuildId] = useState('');
  // Shown as chosen at once; saved by onFlags (an error is reported above the list).
  const [flags, setFlags] = useState(app.flags);
  const target = guilds.find((g) => g.id === guildId) ?? guilds[0];
  return (
    <li aria-label={`Application ${app.name}`}>
      <p>
        <strong>{app.name}</strong> (bot <code>{app.bot.username}</code>, id <code>{app.id}</code>)
      </p>
      <Intents
        flags={flags}
        onChange={(next) => {
          setFlags(next);
          props.onFlags(next);
        }}
        disabled={busy}
      />
      <button type="button" className="secondary" disabled={busy} onClick={props.onReset}>
        Reset token
      </button>
      <form
        className="inline-form"
        aria-label={`Add ${app.name} to a server`}
        onSubmit={(e) => {
          e.preventDefault();
          if (target) props.onAdd(target);
        }}
      >
        <label>
          Server
          <select value={target?.id ?? ''} onChange={(e) => setGuildId(e.target.value)}>
            {guilds.map((g) => (
              <option key={g.id} value={g.id}>
                {g.name}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" disabled={busy || !target}>
          Add to server
        </button>
      </form>
      {guilds.length === 0 && <p className="hint">You manage no server to add it to.</p>}
    </li>
  );
}

function Intents(props: { flags: number; onChange: (flags: number) => void; disabled?: boolean }) {
  const { flags } = props;
  return (
    <fieldset>
      <legend>Privileged intents</legend>
      {PRIVILEGED.map(([bit, label]) => (
        <label key={bit} className="check">
          <input
            type="checkbox"
            checked={(flags & bit) !== 0}
            disabled={props.disabled}
            onChange={(e) => props.onChange(e.target.checked ? flags | bit : flags & ~bit)}
          />
          {label}
        </label>
      ))}
    </fieldset>
  );
}

function replace(
  set: (f: (apps: ApplicationInfo[] | null) => ApplicationInfo[] | null) => void,
  updated: ApplicationInfo,
): void {
  set((apps) => apps?.map((a) => (a.id === updated.id ? updated : a)) ?? null);
}

/**
 * The guilds where the person has MANAGE_GUILD: owned ones at once, the others from their member record (read
 * per guild when the screen opens; the server checks again when a bot is added).
 */
function useManageableGuilds(): GuildFullDto[] {
  const guilds = useStore((s) => s.guilds);
  const me = useStore((s) => s.me);
  const [manageable, setManageable] = useState<GuildFullDto[]>([]);
  useEffect(() => {
    if (!me) return;
    let live = true;
    const all = Object.values(guilds);
    void Promise.all(
      all.map(async (guild) => {
        if (guild.owner_id === me.id) return true;
        const member =
          getState().members[guild.id]?.[me.id] ?? (await api.member(guild.id, me.id).catch(() => undefined));
        return has(guildPermissions(guild, me.id, member), Permission.MANAGE_GUILD);
      }),
    ).then((flags) => {
      if (live) setManageable(all.filter((_, i) => flags[i]));
    });
    return () => {
      live = false;
    };
  }, [guilds, me]);
  return manageable;
}
