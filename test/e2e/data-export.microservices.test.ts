import { useMicroservices } from './harness';
// The suite's hooks start the server when they run, after this file has switched the mode below.
import './data-export.test';

// The data export suite, unchanged, against the split processes: the api queues the job on JetStream, the queue
// role writes the archive to the shared file store, the api serves the signed link. Needs the machine's Redis and NATS.
useMicroservices();
