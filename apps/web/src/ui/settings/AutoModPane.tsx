import type { GuildFullDto } from '@parley/common/protocol';
import { useEffect, useState } from 'react';
import { api } from '../../actions';
import type { AutoModRule } from '../../api';
import { ErrorLine, useAction } from './useAction';

/** AutoMod keyword rules (MANAGE_GUILD): words to catch and what to do (block, alert a channel, time out). */
export function AutoModPane({ guild }: { guild: GuildFullDto }) {
  const [rules, setRules] = useState<AutoModRule[] | null>(null);
  const [name, setName] = useState('');
  const [keywords, setKeywords] = useState('');
  const [block, setBlock] = useState(true);
  const [alertChannel, setAlertChannel] = useState('');
  const [timeout, setTimeoutSeconds] = useState(0);
  const [error, busy, run] = useAction();
  const refresh = () => run(api.autoModRules(guild.id).then(setRules));
  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(refresh, [guild.id]);
  const textChannels = guild.channels.filter((c) => c.type === 0);
  const create = () => {
    const actions: AutoModRule['actions'] = [];
    if (block) actions.push({ type: 1 });
    if (alertChannel) actions.push({ type: 2, metadata: { channel_id: alertChannel } });
    if (timeout > 0) actions.push({ type: 3, metadata: { duration_seconds: timeout } });
    run(
      api.createAutoModRule(guild.id, {
        name: name.trim(),
        event_type: 1,
        trigger_type: 1,
        trigger_metadata: {
          keyword_filter: keywords
            .split(',')
            .map((k) => k.trim())
            .filter((k) => k !== ''),
        },
        actions,
        enabled: true,
        exempt_roles: [],
        exempt_channels: [],
      }),
      () => {
        setName('');
        setKeywords('');
        refresh();
      },
    );
  };
  return (
    <>
      <ErrorLine error={error} />
      {rules && rules.length === 0 && <p className="muted">No AutoMod rules.</p>}
      <ul className="settings-list" aria-label="AutoMod rules">
        {(rules ?? []).map((r) => (
          <li key={r.id} className="settings-row">
            <strong>{r.name}</strong>{' '}
            <span className="muted">{(r.trigger_metadata.keyword_filter ?? []).join(', ')}</span>
            <div className="row-actions">
              <label>
                <input
                  type="checkbox"
                  checked={r.enabled}
                  onChange={(e) =>
                    run(api.updateAutoModRule(guild.id, r.id, { enabled: e.target.checked }), refresh)
                  }
                />{' '}
                Enabled
              </label>
              <button
                type="button"
                className="danger"
                onClick={() => run(api.deleteAutoModRule(guild.id, r.id), refresh)}
              >
                Delete
              </button>
            </div>
          </li>
        ))}
      </ul>
      <form
        className="settings-form"
        aria-label="New keyword rule"
        onSubmit={(e) => {
          e.preventDefault();
          create();
        }}
      >
        <label>
          Rule name
          <input value={name} maxLength={100} required onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Keywords (comma separated; * for wildcards)
          <input value={keywords} required onChange={(e) => setKeywords(e.target.value)} />
        </label>
        <label>
          <input type="checkbox" checked={block} onChange={(e) => setBlock(e.target.checked)} /> Block the
          message
        </label>
        <label>
          Alert channel
          <select value={alertChannel} onChange={(e) => setAlertChannel(e.target.value)}>
            <option value="">No alert</option>
            {textChannels.map((c) => (
              <option key={c.id} value={c.id}>
                #{c.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Timeout
          <select value={timeout} onChange={(e) => setTimeoutSeconds(Number(e.target.value))}>
            <option value={0}>No timeout</option>
            <option value={60}>60 seconds</option>
            <option value={600}>10 minutes</option>
            <option value={3600}>1 hour</option>
          </select>
        </label>
        <button type="submit" className="primary" disabled={busy}>
          Add rule
        </button>
      </form>
    </>
  );
}
