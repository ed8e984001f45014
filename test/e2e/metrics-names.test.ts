import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  clusterEnv,
  purgePrefix,
  requireSharedServices,
  type RoleProcess,
  startRole,
  uniquePrefix,
} from '../integration/microservices/processes';
import { type ServerProcess, startServer, tempDir } from './harness';

jest.setTimeout(180_000);

const ROOT = join(__dirname, '../..');
/** Series Prometheus itself makes for every target. */
const PROMETHEUS_OWN = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);

// PromQL words that are not metric names: functions, aggregations, operators and modifiers.
const PROMQL_WORDS = new Set(
  (
    'sum avg min max count stddev stdvar topk bottomk quantile count_values group by without on ignoring ' +
    'group_left group_right and or unless bool offset rate irate increase delta idelta deriv predict_linear ' +
    'histogram_quantile clamp clamp_min clamp_max abs ceil floor round exp ln log2 log10 sqrt absent ' +
    'absent_over_time changes resets time timestamp vector scalar sort sort_desc label_replace label_join ' +
    'avg_over_time min_over_time max_over_time sum_over_time count_over_time quantile_over_time ' +
    'last_over_time present_over_time inf nan'
  ).split(' '),
);

/** The metric names a PromQL expression reads. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, ' ') // strings (label values)
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // range selectors
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/\$\{?\w+\}?/g, ' ') // Grafana variables
    .replace(/\b\d+(\.\d+)?(e[+-]?\d+)?\b/gi, ' '); // numbers
  const names = bare.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  return [...new Set(names.filter((n) => !PROMQL_WORDS.has(n)))];
}

/** Every series name one process exposes: from `# TYPE` lines, with a histogram's and a summary's suffixes. */
function exposed(text: string): string[] {
  const names: string[] = [];
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.push(name);
    if (type === 'histogram') names.push(`${name}_bucket`, `${name}_sum`, `${name}_count`);
    if (type === 'summary') names.push(`${name}_sum`, `${name}_count`);
  }
  return names;
}

interface Reference {
  where: string;
  expr: string;
}

function dashboardExpressions(): Reference[] {
  const dir = join(ROOT, 'deploy/grafana');
  const refs: Reference[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const walk = (node: unknown, title: string): void => {
      if (Array.isArray(node)) for (const n of node) walk(n, title);
      else if (node && typeof node === 'object') {
        const o = node as Record<string, unknown>;
        const here = typeof o.title === 'string' ? o.title : title;
        if (typeof o.expr === 'string') refs.push({ where: `${file}: ${here}`, expr: o.expr });
        for (const v of Object.values(o)) walk(v, here);
      }
    };
    walk(JSON.parse(readFileSync(join(dir, file), 'utf8')), file);
  }
  return refs;
}

function alertExpressions(): Reference[] {
  const dir = join(ROOT, 'deploy/prometheus');
  const refs: Reference[] = [];
  for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
    const doc = parse(readFileSync(join(dir, file), 'utf8')) as {
      groups?: { rules?: { alert?: string; record?: string; expr?: string }[] }[];
    };
    for (const group of doc.groups ?? [])
      for (const rule of group.rules ?? [])
        if (rule.expr) refs.push({ where: `${file}: ${rule.alert ?? rule.record}`, expr: rule.expr });
  }
  return refs;
}

describe('the Grafana dashboard and the alert rules name only metrics Parley exports', () => {
  const exported = new Set<string>(PROMETHEUS_OWN);
  const dirs = [tempDir(), tempDir()];
  const prefix = uniquePrefix();
  let monolith: ServerProcess | null = null;
  const roles: RoleProcess[] = [];

  beforeAll(async () => {
    await requireSharedServices();
    // Every metric is registered at start (counters with labels show their # TYPE line before any sample).
    monolith = await startServer({ PARLEY__DATABASE__SQLITE__PATH: `${dirs[0].path}/parley.db` });
    const env = clusterEnv(prefix, `${dirs[1].path}/parley.db`);
    roles.push(await startRole('api', { ...env, PARLEY__INSTANCE__NODE_ID: '1' }));
    roles.push(
      ...(await Promise.all([
        startRole('gateway', { ...env, PARLEY__INSTANCE__NODE_ID: '2' }),
        startRole('queue', { ...env, PARLEY__INSTANCE__NODE_ID: '3' }),
        startRole('media-proxy', { ...env, PARLEY__INSTANCE__NODE_ID: '4' }),
      ])),
    );
    for (const url of [monolith.url, ...roles.map((r) => r.url)]) {
      const res = await fetch(`${url}/metrics`);
      expect(res.status).toBe(200);
      for (const name of exposed(await res.text())) exported.add(name);
    }
  });
  afterAll(async () => {
    await monolith?.stop();
    await Promise.all(roles.map((r) => r.stop()));
    await purgePrefix(prefix);
    for (const d of dirs) d.remove();
  });

  it('reads metric names out of PromQL', () => {
    expect(
      metricNames(
        'histogram_quantile(0.95, sum by (le, route) (rate(parley_http_request_duration_seconds_bucket{route=~"/api.*",method="POST"}[$__rate_interval]))) > 0.05',
      ),
    ).toEqual(['parley_http_request_duration_seconds_bucket']);
    expect(metricNames('process_open_fds / process_max_fds > 0.8')).toEqual([
      'process_open_fds',
      'process_max_fds',
    ]);
  });

  it('every dashboard panel queries exported metrics', () => {
    const refs = dashboardExpressions();
    expect(refs.length).toBeGreaterThanOrEqual(25);
    const missing = refs.flatMap((r) =>
      metricNames(r.expr)
        .filter((n) => !exported.has(n))
        .map((n) => `${r.where}: ${n}`),
    );
    expect(missing).toEqual([]);
    // And the dashboard covers what it is for: each of these appears in some panel.
    const used = new Set(refs.flatMap((r) => metricNames(r.expr)));
    for (const name of [
      'parley_http_request_duration_seconds_bucket',
      'parley_gateway_sessions',
      'parley_gateway_dispatches_total',
      'parley_gateway_slow_consumer_disconnects_total',
      'parley_jobs_pending',
      'parley_db_operation_duration_seconds_bucket',
      'parley_sqlite_busy_total',
      'parley_sqlite_wal_checkpoints_total',
      'parley_nats_connected',
      'parley_redis_connected',
    ])
      expect(used).toContain(name);
  });

  it('every alert rule reads exported metrics', () => {
    const refs = alertExpressions();
    expect(refs.length).toBeGreaterThanOrEqual(15);
    const missing = refs.flatMap((r) =>
      metricNames(r.expr)
        .filter((n) => !exported.has(n))
        .map((n) => `${r.where}: ${n}`),
    );
    expect(missing).toEqual([]);
  });

  it('storage latency is labelled by data centre', async () => {
    const text = await (await fetch(`${monolith!.url}/metrics`)).text();
    expect(text).toMatch(/# HELP parley_db_operation_duration_seconds .*data centre/);
    expect(exported).toContain('parley_sqlite_wal_bytes');
  });
});

describe('metrics.enabled', () => {
  const dir = tempDir();
  let server: ServerProcess | null = null;
  afterAll(async () => {
    await server?.stop();
    dir.remove();
  });

  it('false: no /metrics route (health still answers)', async () => {
    server = await startServer({
      PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
      PARLEY__METRICS__ENABLED: 'false',
    });
    expect((await fetch(`${server.url}/health/ready`)).status).toBe(200);
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain('# TYPE');
  });
});
