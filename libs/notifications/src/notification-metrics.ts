import { Injectable } from '@nestjs/common';
import { Metrics } from '@parley/observability';
import { Counter } from 'prom-client';

/** Pushes and emails sent, failed (retried or given up) and dropped (no longer worth sending), by channel. */
@Injectable()
export class NotificationMetrics {
  readonly sent: Counter<'channel'>;
  readonly failed: Counter<'channel'>;
  readonly dropped: Counter<'channel' | 'reason'>;

  constructor(metrics: Metrics) {
    const registers = [metrics.registry];
    const existing = (name: string) => metrics.registry.getSingleMetric(name);
    this.sent =
      (existing('parley_notifications_sent_total') as Counter<'channel'> | undefined) ??
      new Counter({
        name: 'parley_notifications_sent_total',
        help: 'Notifications delivered, by channel (push: accepted by a push service, one per device; email)',
        labelNames: ['channel'],
        registers,
      });
    this.failed =
      (existing('parley_notifications_failed_total') as Counter<'channel'> | undefined) ??
      new Counter({
        name: 'parley_notifications_failed_total',
        help: 'Notification deliveries that failed (retried by the job queue, or refused for good), by channel',
        labelNames: ['channel'],
        registers,
      });
    this.dropped =
      (existing('parley_notifications_dropped_total') as Counter<'channel' | 'reason'> | undefined) ??
      new Counter({
        name: 'parley_notifications_dropped_total',
        help: 'Notifications not sent because they stopped being worth it (read, online, gone subscription, unsubscribed), by channel and reason',
        labelNames: ['channel', 'reason'],
        registers,
      });
  }
}
