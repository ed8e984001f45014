import { Global, Module } from '@nestjs/common';
import { DurableJobQueue } from './durable-job-queue';
import { EVENT_BUS } from './events';
import { InProcessEventBus } from './in-process-bus';
import { JOB_QUEUE } from './jobs';

/** Monolith transports: in-process events, durable jobs in the embedded database. */
@Global()
@Module({
  providers: [
    InProcessEventBus,
    { provide: EVENT_BUS, useExisting: InProcessEventBus },
    DurableJobQueue,
    { provide: JOB_QUEUE, useExisting: DurableJobQueue },
  ],
  exports: [EVENT_BUS, JOB_QUEUE, InProcessEventBus, DurableJobQueue],
})
export class BusModule {}
