import { type FormEvent, useEffect, useRef, useState } from 'react';
import { finishMfa } from '../../actions';
import { navigate } from '../../router';
import { errorText } from '../Dialog';

/** The login's second step: a code from the authenticator app, or a backup code. */
export function MfaStep({ ticket, backup }: { ticket: string; backup: boolean }) {
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    finishMfa(ticket, code.trim()).then(
      () => navigate('/channels/@me', true),
      (err: unknown) => {
        setBusy(false);
        setError(errorText(err));
      },
    );
  };

  return (
    <>
      <h1 ref={heading} tabIndex={-1}>
        Two-factor authentication
      </h1>
      <form onSubmit={submit}>
        <label className="field">
          <span>Authentication code</span>
          <input
            name="code"
            autoComplete="one-time-code"
            inputMode={backup ? 'text' : 'numeric'}
            required
            minLength={6}
            maxLength={16}
            value={code}
            onChange={(e) => setCode(e.target.value)}
          />
          <small>The 6-digit code from your authenticator app{backup ? ', or a backup code' : ''}</small>
        </label>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary wide" disabled={busy}>
          Log in
        </button>
      </form>
    </>
  );
}
