import { lazy } from '@parley/common';
import type * as JetStream from '@nats-io/jetstream';
import type * as NatsCore from '@nats-io/nats-core';
import type * as TransportNode from '@nats-io/transport-node';

// The NATS client, loaded by the processes that connect to NATS (never by the monolith).
/* eslint-disable @typescript-eslint/no-require-imports */
export const natsCore = lazy(() => require('@nats-io/nats-core') as typeof NatsCore);
export const natsJetStream = lazy(() => require('@nats-io/jetstream') as typeof JetStream);
export const natsTransport = lazy(() => require('@nats-io/transport-node') as typeof TransportNode);
/* eslint-enable @typescript-eslint/no-require-imports */
