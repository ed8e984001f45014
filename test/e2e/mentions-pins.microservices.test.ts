import { useMicroservices } from './harness';
// The suite's hooks start the server when they run, after this file has switched the mode below.
import './mentions-pins.test';

// The mentions and pins suite, unchanged, against api, gateway and queue as separate processes over NATS,
// JetStream and Redis: the mention-count job runs in the queue role. Says what to start when they are missing.
useMicroservices();
