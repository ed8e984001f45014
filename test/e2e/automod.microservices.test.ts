import { useMicroservices } from './harness';
// The suite's hooks start the server when they run, after this file has switched the mode below.
import './automod.test';

// The AutoMod, blocks and reports suite, unchanged, against the split processes (api, gateway, queue over NATS
// and Redis): blocks and rule events cross NATS; the block cache and the compiled rules live in the api process.
useMicroservices();
