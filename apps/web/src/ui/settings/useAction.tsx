import { useState } from 'react';
import { errorText } from '../Dialog';

/** One settings form's request: busy while it runs, its error (in the contract's words) when it fails. */
export function useAction(): [string | null, boolean, (p: Promise<unknown>, after?: () => void) => void] {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = (p: Promise<unknown>, after?: () => void) => {
    setBusy(true);
    setError(null);
    p.then(
      () => {
        setBusy(false);
        after?.();
      },
      (err: unknown) => {
        setBusy(false);
        setError(errorText(err));
      },
    );
  };
  return [error, busy, run];
}

/** The failed action's error, announced to screen readers. */
export function ErrorLine({ error }: { error: string | null }) {
  return error ? (
    <p className="error" role="alert">
      {error}
    </p>
  ) : null;
}
