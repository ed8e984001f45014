import 'reflect-metadata';
import { bootTracing } from '@parley/observability';

bootTracing('gateway');
// Loaded once tracing runs, so that the http, ioredis and Cassandra modules it instruments load after it.
void import('@parley/platform').then(({ runRole }) => runRole('gateway'));
