import { type DynamicModule, Global, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { BusModule } from '@parley/bus';
import { SnowflakeGenerator } from '@parley/common';
import { ConfigError, ConfigModule, PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { HttpErrorFilter } from '@parley/http';
import { ObservabilityModule } from '@parley/observability';
import { StateModule } from '@parley/state';
import { STORAGE } from '@parley/storage';
import { HotReadInvalidation } from './hot-reads';
import { MaintenanceMode, ReadOnlyGuard } from './maintenance';
import { MODERATION_PROVIDERS } from './moderation';
import { MicroservicesModule } from './roles/microservices.module';
import type { Role } from './roles/roles';
import { StorageModule } from './storage.module';

/**
 * The one place the bus (events, RPC, jobs) and hot state are chosen: in-process and in memory in the
 * monolith; NATS, JetStream and Redis for one role in microservices mode. An unknown mode stops the boot.
 */
export function transportModules(config: ParleyConfig, role?: Role): DynamicModule['imports'] {
  const mode = config.instance.deployment_mode;
  switch (mode) {
    case 'monolith':
      return [BusModule, StateModule];
    case 'microservices':
      if (!role)
        throw new ConfigError(['instance.deployment_mode: microservices mode runs one role per process']);
      return [MicroservicesModule.forRole(role)];
    default:
      throw new ConfigError([`instance.deployment_mode: unknown mode "${String(mode satisfies never)}"`]);
  }
}

/**
 * What every role's process has: config, logs and metrics, ids, storage, the transports, the error filter,
 * maintenance (read-only) mode.
 */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config: ParleyConfig, role?: Role): DynamicModule {
    return {
      module: CoreModule,
      imports: [
        ConfigModule.forRoot(config),
        ObservabilityModule.forRoot(config),
        StorageModule,
        ...(transportModules(config, role) ?? []),
      ],
      providers: [
        {
          provide: SnowflakeGenerator,
          // After storage: opening it sets the instance's epoch, which every id is minted from.
          inject: [PARLEY_CONFIG, STORAGE],
          useFactory: (c: ParleyConfig) => new SnowflakeGenerator(c.instance.region_id, c.instance.node_id),
        },
        { provide: APP_FILTER, useClass: HttpErrorFilter },
        MaintenanceMode,
        HotReadInvalidation,
        { provide: APP_GUARD, useClass: ReadOnlyGuard },
        ...MODERATION_PROVIDERS,
      ],
      exports: [
        SnowflakeGenerator,
        MaintenanceMode,
        ...MODERATION_PROVIDERS.map((p) => (p as { provide: symbol }).provide),
      ],
    };
  }
}
