import { Global, Module } from '@nestjs/common';
import { MemoryRateLimiter, RATE_LIMITER } from './rate-limiter';

/** Monolith: hot ephemeral state in memory. */
@Global()
@Module({
  providers: [{ provide: RATE_LIMITER, useValue: new MemoryRateLimiter() }],
  exports: [RATE_LIMITER],
})
export class StateModule {}
