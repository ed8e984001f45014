import { useMicroservices } from './harness';
// The suite's hooks start the server when they run, after this file has switched the mode below.
import './accounts.test';

// The accounts suite, unchanged, against the split processes: the api queues the mail, the queue role delivers
// it over SMTP, and a reset closes the gateway role's sessions over NATS. Needs the machine's Redis and NATS.
useMicroservices();
