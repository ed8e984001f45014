import { useMicroservices } from './harness';
// The suite's hooks start the server when they run, after this file has switched the mode below.
import './unfurl.test';

// The link-preview suite, unchanged, against api, gateway and queue as separate processes over NATS, JetStream
// and Redis: the unfurl job runs in the queue role, its MESSAGE_UPDATE crosses NATS to the gateway.
useMicroservices();
