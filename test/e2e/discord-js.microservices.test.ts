import { useMicroservices } from './harness';
// The suite's hooks start the server when they run, after this file has switched the mode below.
import './discord-js.test';

// The same unmodified discord.js bot against the split processes: REST on the api role, the Discord gateway on
// the gateway role (over NATS and Redis), resume included. Needs the machine's Redis and NATS.
useMicroservices();
