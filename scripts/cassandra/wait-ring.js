#!/usr/bin/env node
// Waits until the node at <address> sees <count> nodes up (itself plus peers), so a fresh cluster is usable:
// `node wait-ring.js <address> <dc> <count> [timeout_s]`.
'use strict';
const { join } = require('node:path');
const { Client } = require(join(__dirname, '..', '..', 'node_modules', 'cassandra-driver'));

const [address, dc, countArg, timeoutArg] = process.argv.slice(2);
const want = Number(countArg);
const timeoutMs = Number(timeoutArg ?? 240) * 1000;

(async () => {
  const started = Date.now();
  const client = new Client({ contactPoints: [address], localDataCenter: dc });
  let seen = [];
  try {
    await client.connect();
    for (;;) {
      seen = client.hosts
        .values()
        .filter((h) => h.isUp())
        .map((h) => `${h.address} (${h.datacenter})`);
      if (seen.length >= want) {
        const agreed = await client.metadata.checkSchemaAgreement();
        if (agreed) break;
      }
      if (Date.now() - started > timeoutMs) {
        console.error(
          `[wait-ring] only ${seen.length}/${want} nodes up after ${timeoutMs / 1000} s: ${seen.join(', ')}`,
        );
        process.exit(1);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    console.error(`[wait-ring] ${want} nodes up and in schema agreement: ${seen.join(', ')}`);
  } finally {
    await client.shutdown();
  }
})().catch((err) => {
  console.error(`[wait-ring] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
