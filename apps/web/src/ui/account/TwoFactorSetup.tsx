import { Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';
import { type FormEvent, useEffect, useMemo, useState } from 'react';
import { api } from '../../actions';
import { useStore } from '../../store';
import { errorText } from '../Dialog';

/**
 * Turns TOTP two-factor authentication on (a secret made here, shown as a QR code for the authenticator app,
 * confirmed by its first code and the password; then the backup codes, shown once) or off (a code).
 */
export function TwoFactorSetup() {
  const me = useStore((s) => s.me);
  const secret = useMemo(() => new Secret({ size: 20 }).base32, []);
  const [qr, setQr] = useState<string | null>(null);
  const [code, setCode] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [backups, setBackups] = useState<string[] | null>(null);

  useEffect(() => {
    if (!me || me.mfa_enabled) return;
    const uri = new TOTP({
      issuer: 'Parley',
      label: me.username,
      secret: Secret.fromBase32(secret),
    }).toString();
    QRCode.toDataURL(uri, { margin: 1, width: 200 }).then(setQr, () => setQr(null));
  }, [me, secret]);
  if (!me) return null;

  const enable = (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    api.enableTotp(secret, code.trim(), password).then(
      (reply) => setBackups(reply.backup_codes.map((b) => b.code)),
      (err: unknown) => setError(errorText(err)),
    );
  };
  const disable = (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    api.disableTotp(code.trim()).then(
      () => setCode(''),
      (err: unknown) => setError(errorText(err)),
    );
  };

  if (backups)
    return (
      <section aria-label="Backup codes">
        <p role="status">
          Two-factor authentication is on. Keep these backup codes somewhere safe: each works once.
        </p>
        <ul className="backup-codes">
          {backups.map((b) => (
            <li key={b}>
              <code>{b}</code>
            </li>
          ))}
        </ul>
      </section>
    );

  if (me.mfa_enabled)
    return (
      <form onSubmit={disable} aria-label="Turn off two-factor authentication">
        <p>Two-factor authentication is on.</p>
        <label className="field">
          <span>Code or backup code</span>
          <input
            name="code"
            autoComplete="one-time-code"
            required
            value={code}
            onChange={(e) => setCode(e.target.value)}
          />
        </label>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="danger">
          Turn off
        </button>
      </form>
    );

  return (
    <form onSubmit={enable} aria-label="Turn on two-factor authentication">
      <p>Scan this with an authenticator app, or type the key in by hand, then enter the code it shows.</p>
      {qr && (
        <img className="totp-qr" src={qr} alt="QR code of the authenticator key" width={200} height={200} />
      )}
      <p>
        Key: <code data-testid="totp-secret">{secret}</code>
      </p>
      <label className="field">
        <span>Code from the app</span>
        <input
          name="code"
          autoComplete="one-time-code"
          inputMode="numeric"
          pattern="\d{6}"
          required
          value={code}
          onChange={(e) => setCode(e.target.value)}
        />
      </label>
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
      <button type="submit" className="primary">
        Turn on
      </button>
    </form>
  );
}
