import { useMediaProxy, useMicroservices } from './harness';
// The suite's hooks start the server when they run, after this file has switched the mode below.
import './webhooks.test';

// The same webhooks against the split processes: REST and execute on the api role, WEBHOOKS_UPDATE and the
// webhook's MESSAGE_CREATE through NATS to the gateway role, the per-webhook rate limit in Redis. Needs the
// machine's Redis and NATS.
useMicroservices();
// Webhook files are served by the media-proxy role, as in production.
useMediaProxy();
