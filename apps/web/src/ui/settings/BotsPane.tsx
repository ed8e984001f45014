import type { GuildFullDto } from '@parley/common/protocol';
import { useState } from 'react';
import { api } from '../../actions';
import { ErrorLine, useAction } from './useAction';

// Discord's application flags for the privileged intents a bot may ask for.
const PRIVILEGED: [number, string][] = [
  [1 << 18, 'Message content'],
  [1 << 14, 'Server members'],
  [1 << 12, 'Presence'],
];

/**
 * Bots for this guild: create a bot application (its token is shown once, to paste into the bot's config) and
 * add a bot to the guild by its id, as a guild manager does with Discord's `PUT /guilds/:id/members/:bot_id`.
 */
export function BotsPane({ guild }: { guild: GuildFullDto }) {
  const [name, setName] = useState('');
  const [flags, setFlags] = useState(0);
  const [created, setCreated] = useState<{ id: string; name: string; token: string } | null>(null);
  const [botId, setBotId] = useState('');
  const [added, setAdded] = useState<string | null>(null);
  const [error, busy, run] = useAction();

  const create = () =>
    run(
      api.createApplication(name.trim(), flags).then((app) => {
        setCreated(app);
        setBotId(app.id);
      }),
    );
  const add = () =>
    run(
      api.addBot(guild.id, botId.trim()).then((member) => {
        setAdded(member ? `${member.user.username} joined ${guild.name}.` : 'That bot is already a member.');
      }),
    );

  return (
    <>
      <ErrorLine error={error} />
      <form
        className="settings-form"
        aria-label="Create a bot application"
        onSubmit={(e) => {
          e.preventDefault();
          create();
        }}
      >
        <h3>Create a bot</h3>
        <label>
          Name
          <input
            value={name}
            onChange={(e) => setName(e.target.value)}
            minLength={2}
            maxLength={32}
            required
          />
        </label>
        <fieldset>
          <legend>Privileged intents</legend>
          {PRIVILEGED.map(([bit, label]) => (
            <label key={bit} className="check">
              <input
                type="checkbox"
                checked={(flags & bit) !== 0}
                onChange={(e) => setFlags(e.target.checked ? flags | bit : flags & ~bit)}
              />
              {label}
            </label>
          ))}
        </fieldset>
        <button type="submit" disabled={busy || name.trim().length < 2}>
          Create bot
        </button>
      </form>
      {created && (
        <div className="settings-row" role="status">
          <p>
            <strong>{created.name}</strong> (id <code>{created.id}</code>). Its token, shown only now:
          </p>
          <code className="secret">{created.token}</code>
        </div>
      )}
      <form
        className="settings-form"
        aria-label="Add a bot to this guild"
        onSubmit={(e) => {
          e.preventDefault();
          add();
        }}
      >
        <h3>Add a bot to {guild.name}</h3>
        <label>
          Bot id
          <input value={botId} onChange={(e) => setBotId(e.target.value)} inputMode="numeric" required />
        </label>
        <button type="submit" disabled={busy || !/^[0-9]{1,20}$/.test(botId.trim())}>
          Add bot
        </button>
      </form>
      {added && <p role="status">{added}</p>}
    </>
  );
}
