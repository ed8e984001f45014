import { useMicroservices } from './harness';
// The suite's hooks start the server when they run, after this file has switched the mode below.
import './account-deletion.test';

// The account deletion suite, unchanged, against the split processes: the gateway role closes the deleted
// account's sessions over NATS, and in `delete` mode the queue role removes its messages. Needs Redis and NATS.
useMicroservices();
