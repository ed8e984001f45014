import { useMicroservices } from './harness';
// The suite's hooks start the server when they run, after this file has switched the mode below.
import './moderation.test';

// The moderation suite, unchanged, against the split processes (api, gateway, queue over NATS and Redis).
useMicroservices();
