import { useMicroservices } from './harness';
// The suite's hooks start the server when they run, after this file has switched the mode below.
import './emoji.test';

// The custom emoji suite, unchanged, against api, gateway, queue and media-proxy as separate processes over
// NATS, JetStream and Redis: the api stores the image, the media-proxy role serves it, GUILD_EMOJIS_UPDATE
// crosses NATS to the gateway. Says what to start when they are missing.
useMicroservices();
jest.setTimeout(120_000);
