import type { BanDto, GuildFullDto } from '@parley/common/protocol';
import { useEffect, useState } from 'react';
import { api } from '../../actions';
import { ErrorLine, useAction } from './useAction';

/** Who is banned, to unban. */
export function BansPane({ guild }: { guild: GuildFullDto }) {
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
