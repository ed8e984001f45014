import { useState } from 'react';
import { api } from '../../actions';
import { useStore } from '../../store';
import { errorText } from '../Dialog';

/** Until the address is verified: says so, and sends the link again on request. */
export function VerifyBanner() {
  const me = useStore((s) => s.me);
  const [note, setNote] = useState<string | null>(null);
  if (!me || me.verified !== false) return null;
  const resend = () =>
    api.resendVerification().then(
      () => setNote(`Sent to ${me.email}.`),
      (err: unknown) => setNote(errorText(err)),
    );
  return (
    <div className="banner banner-warn" role="status">
      Please verify your email address: we sent a link to {me.email}.{' '}
      <button type="button" className="link" onClick={() => void resend()}>
        Send it again
      </button>
      {note && <span> {note}</span>}
    </div>
  );
}
