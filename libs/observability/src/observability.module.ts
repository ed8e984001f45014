import { type DynamicModule, Global, Module, type OnApplicationShutdown } from '@nestjs/common';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { HealthController, MetricsController, Readiness } from './health';
import { AppLogger } from './logger';
import { Metrics } from './metrics';
import { stopTracing } from './tracing';

@Global()
@Module({})
export class ObservabilityModule implements OnApplicationShutdown {
  static forRoot(config: ParleyConfig): DynamicModule {
    return {
      module: ObservabilityModule,
      controllers: config.metrics.enabled ? [HealthController, MetricsController] : [HealthController],
      providers: [
        {
          provide: AppLogger,
          inject: [PARLEY_CONFIG],
          useFactory: (c: ParleyConfig) =>
            new AppLogger(c.logging.level, { region: c.instance.region, node: c.instance.node_id }),
        },
        Metrics,
        Readiness,
      ],
      exports: [AppLogger, Metrics, Readiness],
    };
  }

  /** The spans still buffered leave before the process exits. */
  async onApplicationShutdown(): Promise<void> {
    await stopTracing();
  }
}
