import { Injectable, type LoggerService } from '@nestjs/common';
import pino, { type Logger } from 'pino';
import { activeTracing } from './tracing';

/** pino JSON logs; also serves as Nest's logger so framework lines share the format. */
@Injectable()
export class AppLogger implements LoggerService {
  readonly pino: Logger;

  constructor(level: string = 'info', bindings: Record<string, unknown> = {}) {
    const tracing = activeTracing();
    this.pino = pino({
      // With tracing on, every line written inside a sampled trace carries its trace_id and span_id.
      ...(tracing ? { mixin: () => tracing.logFields() } : {}),
      level,
      base: { pid: process.pid, ...bindings },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: pino.stdSerializers.err },
    });
  }

  info(obj: object | string, msg?: string): void {
    if (typeof obj === 'string') this.pino.info(obj);
    else this.pino.info(obj, msg);
  }
  warn(obj: object | string, msg?: string): void {
    if (typeof obj === 'string') this.pino.warn(obj);
    else this.pino.warn(obj, msg);
  }
  error(obj: object | string, msg?: string): void {
    if (typeof obj === 'string') this.pino.error(obj);
    else this.pino.error(obj, msg);
  }
  debug(obj: object | string, msg?: string): void {
    if (typeof obj === 'string') this.pino.debug(obj);
    else this.pino.debug(obj, msg);
  }

  // LoggerService surface used by Nest internals.
  log(message: unknown, context?: string): void {
    // Nest's own lifecycle chatter (module and route listings) is debug detail for operators.
    this.pino.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.pino.trace({ context }, String(message));
  }
  fatal(message: unknown, context?: string): void {
    this.pino.fatal({ context }, String(message));
  }
}
