import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { ParleyConfig } from './schema';

export const PARLEY_CONFIG = Symbol('PARLEY_CONFIG');

@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: ParleyConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: PARLEY_CONFIG, useValue: config }],
      exports: [PARLEY_CONFIG],
    };
  }
}
