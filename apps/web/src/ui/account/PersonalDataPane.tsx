import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { api, deleteAccount } from '../../actions';
import type { DataExportInfo } from '../../api';
import { useStore } from '../../store';
import { errorText } from '../Dialog';

/** "Download my data": asks for an export, shows its progress, then offers the signed link. */
export function DataExportPane() {
  const [current, setCurrent] = useState<DataExportInfo | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(() => {
    api.dataExport().then(setCurrent, () => setCurrent(null));
  }, []);
  useEffect(load, [load]);
  useEffect(() => {
    // While it is being made: look again every few seconds.
    if (current?.status !== 'pending') return;
    const timer = setInterval(load, 3000);
    return () => clearInterval(timer);
  }, [current?.status, load]);

  const request = () => api.requestDataExport().then(setCurrent, (err: unknown) => setError(errorText(err)));

  return (
    <section aria-label="Your data">
      <p>A zip of everything you own here: your profile, messages, DMs, memberships and uploads.</p>
      {current?.status === 'pending' && <p role="status">Your archive is being made…</p>}
      {current?.status === 'ready' && current.url && (
        <p role="status">
          <a href={current.url} download>
            Download your data
          </a>{' '}
          (made {new Date(current.finished_at ?? current.created_at).toLocaleString()}; the link expires)
        </p>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <button type="button" onClick={() => void request()} disabled={current?.status === 'pending'}>
        Request my data
      </button>
    </section>
  );
}

/** "Delete account": the password (and a 2FA code when on) confirm it; then this browser signs out. */
export function DeleteAccountPane() {
  const me = useStore((s) => s.me);
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    deleteAccount(password, me?.mfa_enabled ? code.trim() : null).catch((err: unknown) =>
      setError(errorText(err)),
    );
  };
  if (!open) {
    return (
      <button type="button" className="danger" onClick={() => setOpen(true)}>
        Delete account
      </button>
    );
  }
  return (
    <form onSubmit={submit} aria-label="Delete account">
      <p>
        This cannot be undone. Your messages stay as written by "Deleted User" or are removed, as this
        instance is set up; leave or hand over the servers you own first.
      </p>
      <label className="field">
        <span>Password</span>
        <input
          name="delete-password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </label>
      {me?.mfa_enabled && (
        <label className="field">
          <span>Two-factor code</span>
          <input
            name="delete-code"
            inputMode="numeric"
            autoComplete="one-time-code"
            required
            value={code}
            onChange={(e) => setCode(e.target.value)}
          />
        </label>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" className="danger">
        Delete my account
      </button>{' '}
      <button type="button" className="link" onClick={() => setOpen(false)}>
        Cancel
      </button>
    </form>
  );
}
