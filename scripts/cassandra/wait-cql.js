#!/usr/bin/env node
// Waits until a Cassandra node answers CQL: `node wait-cql.js <address> <dc> [timeout_s] [pid_file] [log_file]`.
// Gives up early when the node's process (pid file) dies, printing the tail of its log.
'use strict';
const { existsSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

const [address, dc, timeoutArg, pidFile, logFile] = process.argv.slice(2);
if (!address || !dc) {
  console.error('usage: wait-cql.js <address> <dc> [timeout_s] [pid_file] [log_file]');
  process.exit(2);
}
const timeoutMs = Number(timeoutArg ?? 240) * 1000;
const { Client, types } = require(join(__dirname, '..', '..', 'node_modules', 'cassandra-driver'));

function alive() {
  if (!pidFile || !existsSync(pidFile)) return !pidFile;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function tail(file, lines) {
  if (!file || !existsSync(file)) return '';
  return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}

async function probe() {
  const client = new Client({
    contactPoints: [address],
    localDataCenter: dc,
    socketOptions: { connectTimeout: 2000, readTimeout: 5000 },
    pooling: { warmup: false },
  });
  try {
    await client.connect();
    const rs = await client.execute('SELECT release_version, data_center FROM system.local', [], {
      consistency: types.consistencies.one,
    });
    return rs.first();
  } finally {
    await client.shutdown().catch(() => undefined);
  }
}

(async () => {
  const started = Date.now();
  let lastError = '';
  for (;;) {
    if (!alive()) {
      console.error(
        `[wait-cql] the node on ${address} exited while starting. Last log lines:\n${tail(logFile, 40)}`,
      );
      process.exit(1);
    }
    try {
      const row = await probe();
      const s = ((Date.now() - started) / 1000).toFixed(1);
      console.error(
        `[wait-cql] ${address}:9042 answers CQL (Cassandra ${row.release_version}, ${row.data_center}) after waiting ${s} s`,
      );
      process.exit(0);
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() - started > timeoutMs) {
      console.error(
        `[wait-cql] ${address}:9042 did not answer CQL within ${timeoutMs / 1000} s (last error: ${lastError}). Last log lines:\n${tail(logFile, 40)}`,
      );
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
})();
