import { Global, Module } from '@nestjs/common';
import { CONNECTION_SLOTS, MemoryConnectionSlots } from './connection-slots';
import { MemoryPresenceStore, PRESENCE_STORE } from './presence';
import { MemoryRateLimiter, RATE_LIMITER } from './rate-limiter';
import { MemoryResumeStore, RESUME_STORE } from './resume-buffer';
import { MemoryTypingStore, TYPING_STORE } from './typing';

/** Monolith: hot ephemeral state in memory. */
@Global()
@Module({
  providers: [
    // Factories, not values: each application (several in one test process) gets its own state.
    { provide: RATE_LIMITER, useFactory: () => new MemoryRateLimiter() },
    { provide: PRESENCE_STORE, useFactory: () => new MemoryPresenceStore() },
    { provide: TYPING_STORE, useFactory: () => new MemoryTypingStore() },
    { provide: RESUME_STORE, useFactory: () => new MemoryResumeStore() },
    { provide: CONNECTION_SLOTS, useFactory: () => new MemoryConnectionSlots() },
  ],
  exports: [RATE_LIMITER, PRESENCE_STORE, TYPING_STORE, RESUME_STORE, CONNECTION_SLOTS],
})
export class StateModule {}
