import { useCallback, useEffect, useState } from 'react';
import { api, signOut } from '../../actions';
import type { SessionInfo } from '../../api';
import { errorText } from '../Dialog';

/** The devices signed in to this account: end one, or all of them (this one included). */
export function SessionsPane() {
  const [sessions, setSessions] = useState<SessionInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(() => {
    api.sessions().then(setSessions, (err: unknown) => setError(errorText(err)));
  }, []);
  useEffect(load, [load]);

  const revoke = (id: string) => api.revokeSession(id).then(load, (err: unknown) => setError(errorText(err)));
  const everywhere = () =>
    api.logoutAll().then(
      () => void signOut(false),
      (err: unknown) => setError(errorText(err)),
    );

  return (
    <section aria-label="Sessions">
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <ul className="sessions">
        {(sessions ?? []).map((s) => (
          <li key={s.id}>
            <span>
              Signed in {new Date(s.created_at).toLocaleString()}
              {s.current ? ' (this device)' : ''}
            </span>
            {!s.current && (
              <button type="button" className="link" onClick={() => void revoke(s.id)}>
                End
              </button>
            )}
          </li>
        ))}
      </ul>
      <button type="button" className="danger" onClick={() => void everywhere()}>
        Log out everywhere
      </button>
    </section>
  );
}
