import type { ReactNode } from 'react';
import { type FormEvent, useEffect, useState } from 'react';
import { api, linkOidc, resetPassword, signInWithToken, verifyAddress } from '../../actions';
import { Api, type MfaReply } from '../../api';
import { navigate } from '../../router';
import { errorText } from '../Dialog';
import { MfaStep } from './MfaStep';

/** The token of a mailed link, from the fragment (`#token=...`), which browsers never send to a server. */
function linkToken(): string {
  return new URLSearchParams(location.hash.slice(1)).get('token') ?? '';
}

function Card({ children }: { children: ReactNode }) {
  return (
    <main className="auth">
      <div className="auth-card">
        <div className="brand" aria-hidden="true">
          <span className="brand-mark">P</span> Parley
        </div>
        {children}
      </div>
    </main>
  );
}

/** "Forgot your password?": asks for the address and says the same whatever the server knows. */
export function ForgotScreen() {
  const [email, setEmail] = useState('');
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    new Api().forgot(email.trim()).then(
      () => setSent(true),
      (err: unknown) => setError(errorText(err)),
    );
  };
  return (
    <Card>
      <h1>Reset your password</h1>
      {sent ? (
        <p role="status">If an account uses that address, a link to reset its password is on its way.</p>
      ) : (
        <form onSubmit={submit}>
          <label className="field">
            <span>Email</span>
            <input
              name="email"
              type="email"
              autoComplete="email"
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          </label>
          {error && (
            <p className="error" role="alert">
              {error}
            </p>
          )}
          <button type="submit" className="primary wide">
            Send the link
          </button>
        </form>
      )}
      <p className="switch">
        <button type="button" className="link" onClick={() => navigate('/login')}>
          Back to log in
        </button>
      </p>
    </Card>
  );
}

/** The reset link's page: a new password; then signed in (or the 2FA step). */
export function ResetScreen() {
  const [token] = useState(linkToken);
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [mfa, setMfa] = useState<MfaReply | null>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    resetPassword(token, password).then(
      (reply) => ('mfa' in reply ? setMfa(reply) : navigate('/channels/@me', true)),
      (err: unknown) => setError(errorText(err)),
    );
  };
  if (mfa) return <Card>{<MfaStep ticket={mfa.ticket} backup={mfa.backup} />}</Card>;
  return (
    <Card>
      <h1>Choose a new password</h1>
      <form onSubmit={submit}>
        <label className="field">
          <span>New password</span>
          <input
            name="password"
            type="password"
            autoComplete="new-password"
            required
            minLength={8}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          <small>At least 8 characters. You will be signed out everywhere else.</small>
        </label>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary wide" disabled={!token}>
          Set password
        </button>
      </form>
    </Card>
  );
}

/** The verification link's page: confirms the address at once (a registration's link also makes the account). */
export function VerifyScreen() {
  // null while working, then the outcome's text, or the error's.
  const [state, setState] = useState<{ ok: boolean; text: string } | null>(null);
  useEffect(() => {
    verifyAddress(linkToken()).then(
      (outcome) =>
        setState({
          ok: true,
          text:
            outcome === 'verified'
              ? 'Your email address is verified.'
              : outcome === 'registered'
                ? 'Your email address is verified and your account is ready.'
                : 'Your email address is verified. An administrator must approve your account before you can log in.',
        }),
      (err: unknown) => setState({ ok: false, text: errorText(err) || 'The link did not work' }),
    );
  }, []);
  return (
    <Card>
      <h1>Email verification</h1>
      {state === null && <p role="status">Verifying…</p>}
      {state?.ok && <p role="status">{state.text}</p>}
      {state && !state.ok && (
        <p className="error" role="alert">
          {state.text}
        </p>
      )}
      <button
        type="button"
        className="primary wide"
        onClick={() => navigate(api.token ? '/channels/@me' : '/login', true)}
      >
        Open Parley
      </button>
    </Card>
  );
}

/**
 * Where single sign-on's callback lands, its outcome in the fragment: a token (signed in), the second factor's
 * ticket, a link to confirm with the existing account's password, or why the provider's answer was refused.
 */
export function OidcScreen() {
  const [outcome] = useState(() => new URLSearchParams(location.hash.slice(1)));
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(outcome.get('error'));
  const [mfa, setMfa] = useState<MfaReply | null>(() => {
    const ticket = outcome.get('mfa_ticket');
    return ticket ? { token: null, mfa: true, ticket, backup: outcome.get('backup') === 'true' } : null;
  });
  const token = outcome.get('token');
  const linkTicket = outcome.get('link_ticket');

  useEffect(() => {
    // The token leaves the address bar at once (and the history), then signs in.
    history.replaceState(null, '', '/oidc');
    if (!token) return;
    signInWithToken(token).then(
      () => navigate('/channels/@me', true),
      (err: unknown) => setError(errorText(err)),
    );
  }, [token]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    linkOidc(linkTicket ?? '', password).then(
      (reply) => ('mfa' in reply ? setMfa(reply) : navigate('/channels/@me', true)),
      (err: unknown) => setError(errorText(err)),
    );
  };

  if (mfa) return <Card>{<MfaStep ticket={mfa.ticket} backup={mfa.backup} />}</Card>;
  if (linkTicket) {
    return (
      <Card>
        <h1>Link your {outcome.get('provider')} login</h1>
        <p>
          An account already uses <strong>{outcome.get('email')}</strong>. Enter its password to sign in with{' '}
          {outcome.get('provider')} from now on.
        </p>
        <form onSubmit={submit}>
          <label className="field">
            <span>Password</span>
            <input
              name="password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </label>
          {error && (
            <p className="error" role="alert">
              {error}
            </p>
          )}
          <button type="submit" className="primary wide">
            Link and sign in
          </button>
        </form>
        <p className="switch">
          <button type="button" className="link" onClick={() => navigate('/login')}>
            Cancel
          </button>
        </p>
      </Card>
    );
  }
  return (
    <Card>
      <h1>{error ? 'Sign-in failed' : 'Signing you in'}</h1>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : (
        <p role="status">One moment…</p>
      )}
      {error && (
        <p className="switch">
          <button type="button" className="link" onClick={() => navigate('/login')}>
            Back to log in
          </button>
        </p>
      )}
    </Card>
  );
}
