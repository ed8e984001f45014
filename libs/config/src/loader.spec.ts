import { envOverrides, loadConfig } from './loader';
import { configProblems as problems } from './testing';

describe('loadConfig', () => {
  it('loads the defaults and validates them', () => {
    const config = loadConfig({ env: {} });
    expect(config.database.backend).toBe('sqlite');
    expect(config.server.port).toBe(8080);
    expect(config.database.cassandra.consistency).toMatchObject({
      read: 'LOCAL_QUORUM',
      write: 'LOCAL_QUORUM',
    });
  });

  it('applies PARLEY__SECTION__KEY overrides, parsing JSON values', () => {
    const config = loadConfig({
      env: {
        PARLEY__SERVER__PORT: '9000',
        PARLEY__DATABASE__SQLITE__PATH: './data/other.db',
        PARLEY__DATABASE__CASSANDRA__HOSTS: '["127.0.0.3"]',
        PARLEY__DATABASE__CASSANDRA__REPLICATION: '{"dc1":2,"dc2":1}',
        PARLEY__RATE_LIMITS__ENABLED: 'false',
        PARLEY__INSTANCE__DEPLOYMENT_MODE: 'microservices',
        PARLEY__MEDIA__SIGNING_SECRET: 'a-secret-of-at-least-thirty-two-characters',
      },
    });
    expect(config.server.port).toBe(9000);
    expect(config.database.sqlite.path).toBe('./data/other.db');
    expect(config.database.cassandra.hosts).toEqual(['127.0.0.3']);
    expect(config.database.cassandra.replication).toEqual({ dc1: 2, dc2: 1 });
    expect(config.rate_limits.enabled).toBe(false);
    expect(config.instance.deployment_mode).toBe('microservices');
  });

  it('reads the file named by PARLEY_CONFIG between the defaults and the environment', () => {
    const config = loadConfig({ env: { PARLEY_CONFIG: 'config/medium.json', PARLEY__SERVER__PORT: '7000' } });
    expect(config.database.sqlite.max_open_conns).toBeGreaterThan(1);
    expect(config.server.port).toBe(7000);
  });

  it('requires a shared media.signing_secret of 32+ characters in microservices mode only', () => {
    const microservices = { PARLEY__INSTANCE__DEPLOYMENT_MODE: 'microservices' };
    expect(problems(() => loadConfig({ env: microservices }))).toEqual([
      'media.signing_secret: must be at least 32 characters, the same in every process, when instance.deployment_mode is "microservices"',
    ]);
    expect(
      problems(() => loadConfig({ env: { ...microservices, PARLEY__MEDIA__SIGNING_SECRET: 'short' } })),
    ).toHaveLength(1);
    expect(loadConfig({ env: {} }).media.signing_secret).toBe('');
  });

  it('names an unknown key', () => {
    expect(problems(() => loadConfig({ env: { PARLEY__DATABASE__SQLITE__PATHH: 'x' } }))).toEqual([
      'database.sqlite.pathh: unknown key',
    ]);
    expect(problems(() => loadConfig({ env: { PARLEY__NOPE: '1' } }))).toEqual(['nope: unknown key']);
  });

  it('names a key with the wrong type', () => {
    const found = problems(() => loadConfig({ env: { PARLEY__SERVER__PORT: 'eighty' } }));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^server\.port: /);
  });

  it('names a missing value', () => {
    const found = problems(() => loadConfig({ env: {}, overrides: { instance: { name: undefined } } }));
    expect(found).toEqual(['instance.name: missing required value']);
  });

  it('enforces conditional rules', () => {
    const found = problems(() => loadConfig({ env: { PARLEY__STORAGE__DRIVER: 's3' } }));
    expect(found).toContain('storage.s3.bucket: required when storage.driver is "s3"');
    expect(problems(() => loadConfig({ env: { PARLEY__DATABASE__BACKEND: 'mongodb' } }))[0]).toMatch(
      /^database\.backend: /,
    );
  });

  it('requires an http(s) OTLP endpoint when telemetry is enabled', () => {
    expect(problems(() => loadConfig({ env: { PARLEY__TELEMETRY__ENABLED: 'true' } })).join('\n')).toMatch(
      /telemetry\.otlp_endpoint: required when telemetry\.enabled is true/,
    );
    expect(
      problems(() => loadConfig({ env: { PARLEY__TELEMETRY__OTLP_ENDPOINT: 'collector:4318' } })).join('\n'),
    ).toMatch(/telemetry\.otlp_endpoint/);
    expect(problems(() => loadConfig({ env: { PARLEY__TELEMETRY__SAMPLE_RATE: '1.5' } })).join('\n')).toMatch(
      /telemetry\.sample_rate/,
    );
    const config = loadConfig({
      env: { PARLEY__TELEMETRY__ENABLED: 'true', PARLEY__TELEMETRY__OTLP_ENDPOINT: 'http://127.0.0.1:4318' },
    });
    expect(config.telemetry).toEqual({
      enabled: true,
      sample_rate: 0.1,
      otlp_endpoint: 'http://127.0.0.1:4318',
    });
  });

  it('refuses an unreadable PARLEY_CONFIG', () => {
    expect(problems(() => loadConfig({ env: { PARLEY_CONFIG: 'config/missing.json' } }))[0]).toMatch(
      /cannot read config file/,
    );
  });
});

describe('envOverrides', () => {
  it('keeps non-JSON values as strings and ignores other variables', () => {
    expect(envOverrides({ PARLEY__LOGGING__LEVEL: 'debug', HOME: '/root', PARLEY_CONFIG: 'x' })).toEqual({
      logging: { level: 'debug' },
    });
  });
});
