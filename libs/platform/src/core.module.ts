import { type DynamicModule, Global, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { SnowflakeGenerator } from '@parley/common';
import { ConfigModule, PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { HttpErrorFilter } from '@parley/http';
import { ObservabilityModule } from '@parley/observability';
import { StateModule } from '@parley/state';
import { MaintenanceMode, ReadOnlyGuard } from './maintenance';
import { StorageModule } from './storage.module';

/**
 * What every role's process has: config, logs and metrics, ids, storage, ephemeral state, the error filter,
 * maintenance (read-only) mode.
 */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config: ParleyConfig): DynamicModule {
    return {
      module: CoreModule,
      imports: [
        ConfigModule.forRoot(config),
        ObservabilityModule.forRoot(config),
        StorageModule,
        // Microservices mode keeps hot state in Redis (see roles/microservices.module.ts).
        ...(config.instance.deployment_mode === 'monolith' ? [StateModule] : []),
      ],
      providers: [
        {
          provide: SnowflakeGenerator,
          inject: [PARLEY_CONFIG],
          useFactory: (c: ParleyConfig) => new SnowflakeGenerator(c.instance.region_id, c.instance.node_id),
        },
        { provide: APP_FILTER, useClass: HttpErrorFilter },
        MaintenanceMode,
        { provide: APP_GUARD, useClass: ReadOnlyGuard },
      ],
      exports: [SnowflakeGenerator, MaintenanceMode],
    };
  }
}
