import { ConfigError, loadConfig, maskCredentials, type ParleyConfig } from '@parley/config';
import { NatsEventBus, NatsLink } from '@parley/bus';
import { SnowflakeGenerator } from '@parley/common';
import { createHttpApp, installSignalHandlers, listen, type RunningServer } from '../http';
import { type Dependency, installDependencyGate, installPublishBarrier } from './dependency-gate';
import { NodeIdLease } from './node-id-lease';
import { RedisLink } from './redis-link';
import { ROLES, ROLE_NEEDS, type Role, isRole } from './roles';
import { RoleModule } from './role.module';

export function rolePort(role: Role, config: ParleyConfig): number {
  switch (role) {
    case 'api':
      return config.server.port;
    case 'gateway':
      return config.gateway.port;
    case 'media-proxy':
      return config.media_proxy.port;
    case 'queue':
      return config.queue.port;
  }
}

/** Checks that this entry point may run: a known role, in microservices mode. */
export function checkRole(name: string, config: ParleyConfig): Role {
  if (!isRole(name)) throw new ConfigError([`unknown role "${name}": expected one of ${ROLES.join(', ')}`]);
  if (config.instance.deployment_mode !== 'microservices')
    throw new ConfigError([
      `instance.deployment_mode: the ${name} role runs only when it is "microservices" (it is "${config.instance.deployment_mode}"); run the monolith with "npm start"`,
    ]);
  return name;
}

/** Starts one role of microservices mode as this process: load config, compose the role, listen. */
export async function startRole(name: string, loaded: ParleyConfig = loadConfig()): Promise<RunningServer> {
  const role = checkRole(name, loaded);
  let config = loaded;
  let lease: NodeIdLease | null = null;
  if (config.instance.claim_node_id) {
    lease = await NodeIdLease.claim(config, (reason) => {
      process.stderr.write(`parley ${role}: ${reason}; stopping so that ids cannot collide\n`);
      process.exit(1);
    });
    config = { ...config, instance: { ...config.instance, node_id: lease.nodeId } };
  }
  const app = await createHttpApp(config, RoleModule.forRole(role, config));
  if (lease) {
    const held = lease;
    app.get(SnowflakeGenerator).holdWhile(() => held.mintable());
  }
  const needs = ROLE_NEEDS[role];
  const dependencies: Dependency[] = [];
  if (needs.nats) {
    const nats = app.get(NatsLink);
    dependencies.push({ name: 'NATS', connected: () => nats.connected });
  }
  if (needs.redis) {
    const redis = app.get(RedisLink);
    dependencies.push({ name: 'Redis', connected: () => redis.connected });
  }
  if (role === 'api') {
    installDependencyGate(app, dependencies);
    installPublishBarrier(app, app.get(NatsEventBus));
  }
  const listening = await listen(app, config, rolePort(role, config));
  const server: RunningServer = {
    ...listening,
    close: async () => {
      await listening.close();
      await lease?.release();
    },
  };
  installSignalHandlers(server);
  const line = {
    level: 30,
    msg: 'parley listening',
    url: server.url,
    mode: 'microservices',
    role,
    node_id: config.instance.node_id,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
  return server;
}

/** The entry points' main: exits 78 on a configuration problem, 1 on any other failure to start. */
export function runRole(name: string): void {
  startRole(name).catch((err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`parley: ${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`parley ${name}: failed to start: ${maskCredentials(detail)}\n`);
    process.exit(1);
  });
}
