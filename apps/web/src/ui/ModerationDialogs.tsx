import { useId, useState, type ReactNode } from 'react';
import { Dialog, errorText } from './Dialog';

/**
 * A moderation action with a reason (kick, ban, timeout, report): the reason goes to the audit log as
 * `X-Audit-Log-Reason` (or, for a report, is the report's reason). `children` holds the action's own fields.
 */
export function ReasonDialog({
  title,
  body,
  confirm,
  reasonLabel = 'Reason',
  reasonRequired = false,
  children,
  onSubmit,
  onClose,
}: {
  title: string;
  body?: ReactNode;
  confirm: string;
  reasonLabel?: string;
  reasonRequired?: boolean;
  children?: ReactNode;
  onSubmit: (reason: string | null) => Promise<unknown>;
  onClose: () => void;
}) {
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const id = useId();
  const submit = () => {
    setBusy(true);
    setError(null);
    onSubmit(reason.trim() === '' ? null : reason.trim()).then(onClose, (err: unknown) => {
      setBusy(false);
      setError(errorText(err));
    });
  };
  return (
    <Dialog title={title} onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        {body && <p>{body}</p>}
        {children}
        <label htmlFor={id}>{reasonLabel}</label>
        <textarea
          id={id}
          value={reason}
          maxLength={512}
          required={reasonRequired}
          onChange={(e) => setReason(e.target.value)}
        />
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <div className="dialog-actions">
          <button
            type="submit"
            className="danger"
            disabled={busy || (reasonRequired && reason.trim() === '')}
          >
            {confirm}
          </button>
          <button type="button" className="secondary" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** Discord's timeout lengths. */
export const TIMEOUTS: [string, number][] = [
  ['60 seconds', 60],
  ['5 minutes', 300],
  ['10 minutes', 600],
  ['1 hour', 3600],
  ['1 day', 86_400],
  ['1 week', 604_800],
];
