import type { InviteDto } from '@parley/common/protocol';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { RegistrationMailed, api, lastChannel, logIn, register } from '../actions';
import type { MfaReply } from '../api';
import { MfaStep } from './account/MfaStep';
import { navigate } from '../router';
import { errorText } from './Dialog';

/** The instance's single sign-on providers (and whether password login is off), for the login screen. */
function useSso(): { providers: { id: string; name: string }[]; sso_only: boolean } {
  const [sso, setSso] = useState<{ providers: { id: string; name: string }[]; sso_only: boolean }>({
    providers: [],
    sso_only: false,
  });
  useEffect(() => {
    let live = true;
    api.oidcProviders().then(
      (found) => live && setSso(found),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, []);
  return sso;
}

function useInvite(code: string | null): InviteDto | null | 'invalid' {
  const [invite, setInvite] = useState<InviteDto | null | 'invalid'>(null);
  useEffect(() => {
    if (!code) return;
    let live = true;
    api.invite(code).then(
      (i) => live && setInvite(i),
      () => live && setInvite('invalid'),
    );
    return () => {
      live = false;
    };
  }, [code]);
  return invite;
}

/** Log in or register; on an invite link, says which guild the new member is about to join. */
export function AuthScreen({
  mode,
  inviteCode,
  onSwitch,
}: {
  mode: 'login' | 'register';
  inviteCode: string | null;
  onSwitch: () => void;
}) {
  const [username, setUsername] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [mfa, setMfa] = useState<MfaReply | null>(null);
  const invite = useInvite(inviteCode);
  const sso = useSso();
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    heading.current?.focus();
    setError(null);
  }, [mode]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setNotice(null);
    const done =
      mode === 'login'
        ? logIn(username.trim(), password)
        : register(username.trim(), email.trim(), password, inviteCode);
    done.then(
      (reply) => {
        if ('mfa' in reply) return setMfa(reply);
        // An invite link stays where it is: the app joins once signed in.
        if (!inviteCode) navigate(lastChannel() ?? '/channels/@me', true);
      },
      (err: unknown) => {
        setBusy(false);
        if (err instanceof RegistrationMailed) setNotice(err.message);
        else setError(errorText(err));
      },
    );
  };

  return (
    <main className="auth">
      <div className="auth-card">
        <div className="brand" aria-hidden="true">
          <span className="brand-mark">P</span> Parley
        </div>
        {invite && invite !== 'invalid' && (
          <p className="invite-note">
            You have been invited to join <strong>{invite.guild.name}</strong>
            {invite.inviter ? ` by ${invite.inviter.username}` : ''}.
          </p>
        )}
        {invite === 'invalid' && (
          <p className="error" role="alert">
            This invite is invalid or has expired.
          </p>
        )}
        {mfa ? (
          <MfaStep ticket={mfa.ticket} backup={mfa.backup} />
        ) : (
          <>
            <h1 ref={heading} tabIndex={-1}>
              {mode === 'login' ? 'Welcome back' : 'Create an account'}
            </h1>
            {sso.providers.length > 0 && (
              <div className="sso" aria-label="Single sign-on">
                {sso.providers.map((p) => (
                  // A navigation, not a fetch: the provider's pages take over, then /oidc brings the outcome.
                  <a
                    key={p.id}
                    className="button primary wide"
                    href={`/api/v1/auth/oidc/${encodeURIComponent(p.id)}/start`}
                  >
                    Log in with {p.name}
                  </a>
                ))}
                {!sso.sso_only && <p className="sso-or">or</p>}
              </div>
            )}
            {!sso.sso_only && (
              <form onSubmit={submit} noValidate={false}>
                <label className="field">
                  <span>Username</span>
                  <input
                    name="username"
                    autoComplete="username"
                    required
                    minLength={2}
                    maxLength={mode === 'login' ? 254 : 32}
                    value={username}
                    onChange={(e) => setUsername(e.target.value)}
                    aria-describedby={mode === 'login' ? 'login-hint' : 'username-hint'}
                  />
                  {mode === 'login' ? (
                    <small id="login-hint">Your username or email address</small>
                  ) : (
                    <small id="username-hint">2 to 32 characters: letters, digits, "_" and "."</small>
                  )}
                </label>
                {mode === 'register' && (
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
                )}
                <label className="field">
                  <span>Password</span>
                  <input
                    name="password"
                    type="password"
                    autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
                    required
                    minLength={mode === 'register' ? 8 : 1}
                    value={password}
                    onChange={(e) => setPassword(e.target.value)}
                  />
                  {mode === 'register' && <small>At least 8 characters</small>}
                </label>
                {error && (
                  <p className="error" role="alert">
                    {error}
                  </p>
                )}
                {notice && <p role="status">{notice}</p>}
                <button type="submit" className="primary wide" disabled={busy}>
                  {mode === 'login' ? 'Log in' : 'Register'}
                </button>
              </form>
            )}
            {mode === 'login' && !sso.sso_only && (
              <p className="switch">
                <button type="button" className="link" onClick={() => navigate('/forgot')}>
                  Forgot your password?
                </button>
              </p>
            )}
            <p className="switch">
              {mode === 'login' ? 'Need an account? ' : 'Already have an account? '}
              <button type="button" className="link" onClick={onSwitch}>
                {mode === 'login' ? 'Create one' : 'Sign in instead'}
              </button>
            </p>
          </>
        )}
      </div>
    </main>
  );
}
