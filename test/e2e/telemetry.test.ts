import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Api, GatewayClient } from '../support/clients';
import { expectConnected, OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver';
import {
  clusterEnv,
  purgePrefix,
  requireSharedServices,
  type RoleProcess,
  startRole,
  uniquePrefix,
} from '../integration/microservices/processes';
import { type ServerProcess, startServer, tempDir, waitFor } from './harness';

jest.setTimeout(180_000);

const SEND_ROUTE = 'POST /api/v1/channels/:channel_id/messages';
const CONSUMER = 5; // SpanKind.CONSUMER in OTLP's numbering (SPAN_KIND_CONSUMER)

function telemetryEnv(receiver: OtlpReceiver, sampleRate: number): Record<string, string> {
  return {
    PARLEY__TELEMETRY__ENABLED: 'true',
    PARLEY__TELEMETRY__SAMPLE_RATE: String(sampleRate),
    PARLEY__TELEMETRY__OTLP_ENDPOINT: receiver.url,
    PARLEY__RATE_LIMITS__ENABLED: 'false',
  };
}

/** The first trace rooted in a request on `route` whose spans satisfy `complete` (waiting for them to arrive). */
async function sendTrace(
  receiver: OtlpReceiver,
  complete: (spans: ReceivedSpan[]) => boolean,
  what: string,
  route = SEND_ROUTE,
): Promise<ReceivedSpan[]> {
  return waitFor(
    () =>
      Promise.resolve(
        receiver.spans
          .filter((s) => s.name === route)
          .map((s) => receiver.trace(s.traceId))
          .find(complete),
      ),
    what,
  );
}

const named = (spans: ReceivedSpan[], service: string, name: string) =>
  spans.filter((s) => s.service === service && s.name === name);

/** Sends `count` messages one after another and counts the distinct traces exported for them. */
async function sampledSends(api: Api, count: number): Promise<{ sent: number }> {
  const owner = await api.register('sampler');
  const guild = await api.guild(owner);
  for (let i = 0; i < count; i++) await api.send(owner, guild.general, `sample ${i}`);
  return { sent: count };
}

function sendTraces(receiver: OtlpReceiver): number {
  return new Set(receiver.spans.filter((s) => s.name === SEND_ROUTE).map((s) => s.traceId)).size;
}

describe('OpenTelemetry tracing (monolith)', () => {
  const receiver = new OtlpReceiver();
  const dirs: { remove: () => void }[] = [];
  let server: ServerProcess | null = null;

  const start = async (env: Record<string, string>) => {
    const dir = tempDir();
    dirs.push(dir);
    server = await startServer({ PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`, ...env });
    return server;
  };

  beforeAll(async () => {
    await receiver.start();
  });
  afterEach(async () => {
    await server?.stop();
    server = null;
    receiver.clear();
  });
  afterAll(async () => {
    await receiver.stop();
    for (const d of dirs) d.remove();
  });

  it('exports one connected trace per message send: HTTP, storage, publish and the gateway dispatch', async () => {
    const s = await start({ ...telemetryEnv(receiver, 1), PARLEY__LOGGING__LEVEL: 'info' });
    const api = new Api(s.url);
    const owner = await api.register('tracer');
    const guild = await api.guild(owner);
    const gateway = await GatewayClient.ready(s.url, owner.token);
    try {
      const message = await api.send(owner, guild.general, 'traced hello');
      await gateway.next('MESSAGE_CREATE', (p: { d: { id: string } }) => p.d.id === message.id);
      const spans = await sendTrace(
        receiver,
        (t) => t.some((x) => x.name === 'gateway dispatch MESSAGE_CREATE'),
        'the send trace reaches the gateway dispatch',
      );
      expectConnected(spans);
      const root = spans.find((x) => !x.parentSpanId)!;
      expect(root).toMatchObject({ name: SEND_ROUTE, service: 'parley' });
      expect(root.attributes['http.route']).toBe('/api/v1/channels/:channel_id/messages');
      expect(named(spans, 'parley', 'storage messages.create')[0]?.attributes).toMatchObject({
        'db.system.name': 'sqlite',
        'db.operation.name': 'messages.create',
      });
      expect(named(spans, 'parley', 'publish MESSAGE_CREATE')).toHaveLength(1);
      const dispatch = named(spans, 'parley', 'gateway dispatch MESSAGE_CREATE')[0];
      expect(dispatch.attributes['parley.gateway.recipients']).toBe(1);
      // The access log line of the send carries the trace's id.
      await waitFor(
        () =>
          Promise.resolve(
            s
              .output()
              .split('\n')
              .some(
                (line) =>
                  line.includes('"msg":"request"') &&
                  line.includes('"route":"/api/v1/channels/:channel_id/messages"') &&
                  line.includes(`"trace_id":"${root.traceId}"`),
              ),
          ),
        'the access log names the trace id',
      );
    } finally {
      gateway.close();
    }
  });

  it('traces each run of a job from the jobs table as a trace of its own', async () => {
    const s = await start(telemetryEnv(receiver, 1));
    const api = new Api(s.url);
    const owner = await api.register('jobs');
    const guild = await api.guild(owner);
    const channel = await api.ok<{ id: string }>('POST', `/guilds/${guild.id}/channels`, owner.token, {
      name: 'doomed',
    });
    await api.ok('DELETE', `/channels/${channel.id}`, owner.token);
    const job = await waitFor(
      () => Promise.resolve(receiver.spans.find((x) => x.name === 'job channel.purge_messages')),
      'the purge job is traced',
    );
    expect(job).toMatchObject({ service: 'parley', parentSpanId: '' });
    // Its storage calls belong to it.
    await waitFor(
      () =>
        Promise.resolve(
          receiver
            .trace(job.traceId)
            .some((x) => x.name.startsWith('storage ') && x.parentSpanId === job.spanId),
        ),
      'the job run holds its storage calls',
    );
  });

  it('exports nothing at sample_rate 0', async () => {
    const s = await start(telemetryEnv(receiver, 0));
    await sampledSends(new Api(s.url), 50);
    // Stopping flushes whatever the exporter still holds: after the exit nothing more can arrive.
    expect(await s.stop()).toBe(0);
    expect(receiver.spans).toHaveLength(0);
    expect(receiver.requests).toBe(0);
  });

  it('exports about a tenth of the sends at sample_rate 0.1', async () => {
    const s = await start(telemetryEnv(receiver, 0.1));
    const { sent } = await sampledSends(new Api(s.url), 400);
    expect(await s.stop()).toBe(0);
    const traced = sendTraces(receiver);
    // Binomial(400, 0.1): mean 40, standard deviation 6; these bounds fail by chance about once in 10^6 runs.
    expect(traced).toBeGreaterThanOrEqual(15);
    expect(traced).toBeLessThanOrEqual(80);
    expect(sent).toBe(400);
  });

  it('exports nothing with telemetry off (the default)', async () => {
    const s = await start({
      PARLEY__TELEMETRY__OTLP_ENDPOINT: receiver.url,
      PARLEY__RATE_LIMITS__ENABLED: 'false',
    });
    await sampledSends(new Api(s.url), 20);
    expect(await s.stop()).toBe(0);
    expect(receiver.requests).toBe(0);
  });
});

describe('OpenTelemetry tracing off', () => {
  it('loads no OpenTelemetry SDK module, even with the whole platform loaded', () => {
    const dist = join(__dirname, '../../dist');
    const script = `
      require(${JSON.stringify(`${dist}/libs/observability/src/index.js`)}).bootTracing('monolith');
      require(${JSON.stringify(`${dist}/libs/platform/src/index.js`)});
      const loaded = Object.keys(require.cache).filter((f) => f.includes('@opentelemetry') && !/@opentelemetry[\\/]api[\\/]/.test(f));
      process.stdout.write(JSON.stringify(loaded));`;
    const run = spawnSync(process.execPath, ['-e', script], {
      cwd: join(__dirname, '../..'),
      env: { PATH: process.env.PATH ?? '', PARLEY__TELEMETRY__OTLP_ENDPOINT: 'http://127.0.0.1:4318' },
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual([]);
  });
});

describe('OpenTelemetry tracing (microservices)', () => {
  const receiver = new OtlpReceiver();
  const dir = tempDir();
  const prefix = uniquePrefix();
  const roles: RoleProcess[] = [];

  beforeAll(async () => {
    await requireSharedServices();
    await receiver.start();
    const env = { ...clusterEnv(prefix, `${dir.path}/parley.db`), ...telemetryEnv(receiver, 1) };
    roles.push(await startRole('api', { ...env, PARLEY__INSTANCE__NODE_ID: '1' }));
    roles.push(
      ...(await Promise.all([
        startRole('gateway', { ...env, PARLEY__INSTANCE__NODE_ID: '2' }),
        startRole('queue', { ...env, PARLEY__INSTANCE__NODE_ID: '3' }),
      ])),
    );
  });
  afterAll(async () => {
    await Promise.all(roles.map((r) => r.stop()));
    await purgePrefix(prefix);
    await receiver.stop();
    dir.remove();
  });

  // The queue role does no work for a plain send (it runs only jobs since roles are composed from parts), so a
  // plain send's trace ends at the gateways; a send that enqueues a job (an @everyone mention's count) reaches
  // the queue role too, as does any request that enqueues one (the tests after this one).
  it('follows one message send from the api through NATS to the gateway in one trace', async () => {
    const [apiRole, gatewayRole] = roles;
    const api = new Api(apiRole.url);
    const owner = await api.register('tracer');
    const guild = await api.guild(owner);
    const gateway = await GatewayClient.ready(gatewayRole.url, owner.token);
    try {
      const message = await api.send(owner, guild.general, 'traced across processes');
      await gateway.next('MESSAGE_CREATE', (p: { d: { id: string } }) => p.d.id === message.id);
      const spans = await sendTrace(
        receiver,
        (t) => t.some((x) => x.service === 'parley-gateway' && x.name === 'gateway dispatch MESSAGE_CREATE'),
        'the send trace reaches the gateway',
      );
      expectConnected(spans);
      expect(spans.find((x) => !x.parentSpanId)).toMatchObject({ name: SEND_ROUTE, service: 'parley-api' });
      const publish = named(spans, 'parley-api', 'publish MESSAGE_CREATE');
      expect(publish).toHaveLength(1);
      expect(publish[0].attributes['messaging.system']).toBe('nats');
      // The gateway continues the trace from the NATS message's traceparent header.
      expect(spans.some((x) => x.service === 'parley-queue')).toBe(false);
      const received = named(spans, 'parley-gateway', 'process MESSAGE_CREATE');
      expect(received.length).toBeGreaterThanOrEqual(1);
      for (const r of received) {
        expect(r.kind).toBe(CONSUMER);
        expect(r.parentSpanId).toBe(publish[0].spanId);
      }
      const dispatch = named(spans, 'parley-gateway', 'gateway dispatch MESSAGE_CREATE')[0];
      expect(dispatch.attributes['parley.gateway.recipients']).toBe(1);
      expect(spans.find((x) => x.spanId === dispatch.parentSpanId)?.name).toBe('process MESSAGE_CREATE');
    } finally {
      gateway.close();
    }
  });

  it('follows a send with an @everyone mention through NATS to the gateway and to the queue role in one trace', async () => {
    const [apiRole, gatewayRole] = roles;
    const api = new Api(apiRole.url);
    const owner = await api.register('announcer');
    const guild = await api.guild(owner);
    const gateway = await GatewayClient.ready(gatewayRole.url, owner.token);
    try {
      // The mention of everyone is counted by the queue role's messages.count_mentions job (issue 18).
      const message = await api.send(owner, guild.general, '@everyone the trace goes everywhere');
      await gateway.next('MESSAGE_CREATE', (p: { d: { id: string } }) => p.d.id === message.id);
      const spans = await sendTrace(
        receiver,
        (t) =>
          t.some((x) => x.service === 'parley-gateway' && x.name === 'gateway dispatch MESSAGE_CREATE') &&
          t.some((x) => x.service === 'parley-queue' && x.name === 'job messages.count_mentions'),
        'the send trace reaches the gateway and the queue role',
      );
      expectConnected(spans);
      expect(spans.find((x) => !x.parentSpanId)).toMatchObject({ name: SEND_ROUTE, service: 'parley-api' });
      expect(new Set(spans.map((x) => x.service))).toEqual(
        new Set(['parley-api', 'parley-gateway', 'parley-queue']),
      );
      expect(named(spans, 'parley-queue', 'job messages.count_mentions')[0].kind).toBe(CONSUMER);
    } finally {
      gateway.close();
    }
  });

  it('continues the trace of a request into the JetStream jobs it enqueues, in the queue role', async () => {
    const api = new Api(roles[0].url);
    const owner = await api.register('jobs');
    const guild = await api.guild(owner);
    const channel = await api.ok<{ id: string }>('POST', `/guilds/${guild.id}/channels`, owner.token, {
      name: 'doomed',
    });
    await api.ok('DELETE', `/channels/${channel.id}`, owner.token);
    const spans = await sendTrace(
      receiver,
      (t) => t.some((x) => x.service === 'parley-queue' && x.name === 'job channel.purge_messages'),
      'the channel deletion trace reaches its purge job',
      'DELETE /api/v1/channels/:channel_id',
    );
    expectConnected(spans);
    const job = named(spans, 'parley-queue', 'job channel.purge_messages')[0];
    expect(job.kind).toBe(CONSUMER);
    expect(spans.find((x) => !x.parentSpanId)).toMatchObject({ service: 'parley-api' });
  });
});
