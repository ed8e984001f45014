import 'reflect-metadata';
import { ConfigError, loadConfig, maskCredentials } from '@parley/config';
import { bootTracing } from '@parley/observability';
import { benchSwitchArmed, startBenchSwitch } from './bench-switch';

bootTracing('monolith');

async function main(): Promise<void> {
  const config = loadConfig();
  // Loaded once tracing runs, so that the http, ioredis and Cassandra modules it instruments load after it.
  const { ServerModule, createHttpApp, installSignalHandlers, listen } = await import('@parley/platform');
  if (config.instance.deployment_mode !== 'monolith')
    throw new ConfigError([
      `instance.deployment_mode: the monolith runs only when it is "monolith" (it is "${config.instance.deployment_mode}"); start each role with "npm run start:<role>"`,
    ]);
  // Checked before anything opens: an armed switch where it is not allowed stops the start (bench-switch.ts).
  // The one variable read outside @parley/config, on purpose: no configuration source may turn it on.
  // eslint-disable-next-line no-restricted-properties
  const benchSwitch = benchSwitchArmed(process.env, config);
  const app = await createHttpApp(config, ServerModule.forRoot(config));
  const server = await listen(app, config);
  installSignalHandlers(server);
  if (benchSwitch) await startBenchSwitch(server.app);
  process.stdout.write(
    `${JSON.stringify({ level: 30, msg: 'parley listening', url: server.url, mode: 'monolith' })}\n`,
  );
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`parley: ${err.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  // Drivers put URLs in their messages: credentials inside them stay out of the log.
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`parley: failed to start: ${maskCredentials(detail)}\n`);
  process.exit(1);
});
