import { useMicroservices } from './harness';
// The suite's hooks start the server when they run, after this file has switched the mode below.
import './rest-chat.test';

// The monolith's REST chat suite, unchanged, against an api behind the split processes (api, gateway, queue
// over NATS, JetStream and Redis). Needs the machine's Redis and NATS; says what to start when they are missing.
useMicroservices();
