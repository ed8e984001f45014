import { Dialog } from '../Dialog';
import { SessionsPane } from './SessionsPane';
import { TwoFactorSetup } from './TwoFactorSetup';

/** The user's own settings: two-factor authentication and signed-in sessions. */
export function AccountDialog({ onClose }: { onClose: () => void }) {
  return (
    <Dialog title="My account" onClose={onClose} wide>
      <h3>Two-factor authentication</h3>
      <TwoFactorSetup />
      <h3>Sessions</h3>
      <SessionsPane />
    </Dialog>
  );
}
