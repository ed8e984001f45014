import { Dialog } from '../Dialog';
import { ApplicationsPane } from './ApplicationsPane';
import { DataExportPane, DeleteAccountPane } from './PersonalDataPane';
import { SessionsPane } from './SessionsPane';
import { TwoFactorSetup } from './TwoFactorSetup';

/** The user's own settings: two-factor authentication, sessions, their bot applications, their data and deleting the account. */
export function AccountDialog({ onClose }: { onClose: () => void }) {
  return (
    <Dialog title="My account" onClose={onClose} wide>
      <h3>Two-factor authentication</h3>
      <TwoFactorSetup />
      <h3>Sessions</h3>
      <SessionsPane />
      <h3>Applications</h3>
      <ApplicationsPane />
      <h3>Your data</h3>
      <DataExportPane />
      <h3>Delete account</h3>
      <DeleteAccountPane />
    </Dialog>
  );
}
