import { Global, Module } from '@nestjs/common';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { HealthController, Readiness } from './health';
import { AppLogger } from './logger';
import { Metrics } from './metrics';

@Global()
@Module({
  controllers: [HealthController],
  providers: [
    {
      provide: AppLogger,
      inject: [PARLEY_CONFIG],
      useFactory: (config: ParleyConfig) =>
        new AppLogger(config.logging.level, {
          region: config.instance.region,
          node: config.instance.node_id,
        }),
    },
    Metrics,
    Readiness,
  ],
  exports: [AppLogger, Metrics, Readiness],
})
export class ObservabilityModule {}
