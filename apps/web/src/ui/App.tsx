import { useEffect, useState } from 'react';
import { titleWith, unreadSummary } from '../attention';
import { showFaviconBadge } from '../desktop';
import { acceptInvite, connect, lastChannel, signedIn } from '../actions';
import { navigate, parseRoute, usePath } from '../router';
import { useStore } from '../store';
import { ForgotScreen, OidcScreen, ResetScreen, VerifyScreen } from './account/LinkScreens';
import { AuthScreen } from './Auth';
import { errorText } from './Dialog';
import { Shell } from './Shell';

/** `/invite/<code>` while signed in: join at once, then open the invite's channel. */
function JoinInvite({ code }: { code: string }) {
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    acceptInvite(code).catch((err: unknown) => live && setError(errorText(err)));
    return () => {
      live = false;
    };
  }, [code]);
  return (
    <main className="splash">
      {error ? (
        <div className="auth-card">
          <h1>Could not join</h1>
          <p className="error" role="alert">
            {error}
          </p>
          <button type="button" className="primary" onClick={() => navigate('/channels/@me', true)}>
            Open Parley
          </button>
        </div>
      ) : (
        <p role="status">Joining…</p>
      )}
    </main>
  );
}

export function App() {
  const path = usePath();
  const route = parseRoute(path);
  const me = useStore((s) => s.me);
  const [inviteMode, setInviteMode] = useState<'login' | 'register'>('register');
  const authed = signedIn() || me !== null;

  useEffect(() => {
    if (authed) connect();
  }, [authed]);

  useEffect(() => {
    // Just signed in: back to the channel last open (a guild left since is handled by the shell).
    if (authed && (route.name === 'login' || route.name === 'register'))
      navigate(lastChannel() ?? '/channels/@me', true);
    if (authed && (route.name === 'login' || route.name === 'register' || route.name === 'forgot'))
      navigate('/channels/@me', true);
    if (!authed && (route.name === 'home' || route.name === 'guild')) navigate('/login', true);
  }, [authed, route.name]);

  // The unread count rides in the tab title and on the favicon, so a background tab still says so.
  const mentions = useStore((s) => unreadSummary(s).mentions);
  const anyUnread = useStore((s) => unreadSummary(s).unread);
  useEffect(() => {
    const names: Record<string, string> = {
      login: 'Log in',
      register: 'Register',
      invite: 'Invite',
      forgot: 'Forgot password',
      reset: 'Reset password',
      verify: 'Verify email',
    };
    const base = names[route.name] ? `${names[route.name]} · Parley` : 'Parley';
    const unread = authed ? { mentions, unread: anyUnread } : { mentions: 0, unread: false };
    document.title = titleWith(base, unread);
    showFaviconBadge(unread);
  }, [route.name, authed, mentions, anyUnread]);

  // The mailed links' pages work signed in or not.
  if (route.name === 'verify') return <VerifyScreen />;
  if (route.name === 'reset') return <ResetScreen />;
  if (route.name === 'oidc') return <OidcScreen />;
  if (!authed) {
    if (route.name === 'forgot') return <ForgotScreen />;
    if (route.name === 'invite')
      return (
        <AuthScreen
          mode={inviteMode}
          inviteCode={route.code}
          onSwitch={() => setInviteMode(inviteMode === 'login' ? 'register' : 'login')}
        />
      );
    const mode = route.name === 'register' ? 'register' : 'login';
    return (
      <AuthScreen
        mode={mode}
        inviteCode={null}
        onSwitch={() => navigate(mode === 'login' ? '/register' : '/login')}
      />
    );
  }
  if (route.name === 'invite') return <JoinInvite code={route.code} />;
  if (route.name === 'home' || route.name === 'guild') return <Shell route={route} />;
  return null;
}
