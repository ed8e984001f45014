import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from './loader';
import { isMultiRegion, regionTableText } from './regions';
import { configProblems as problems } from './testing';

const ROOT = join(__dirname, '../../..');
const REGION_FILES = readdirSync(join(ROOT, 'config')).filter((f) => /^region-.+\.json$/.test(f));

// The region files run in microservices mode, whose shared media key comes from the environment (a Secret).
const SECRET = { PARLEY__MEDIA__SIGNING_SECRET: 'a-secret-of-at-least-thirty-two-characters!!' };

const load = (file: string, env: Record<string, string> = {}) =>
  loadConfig({ cwd: ROOT, env: { PARLEY_CONFIG: `config/${file}`, ...SECRET, ...env } });

describe('multi-region configuration', () => {
  it('ships at least two per-region example files that validate and agree with each other', () => {
    expect(REGION_FILES.length).toBeGreaterThanOrEqual(2);
    const loaded = REGION_FILES.map((file) => ({ file, config: load(file) }));
    const tables = new Set(loaded.map(({ config }) => regionTableText(config.instance.regions)));
    expect(tables.size).toBe(1); // one table, everywhere
    const replication = new Set(
      loaded.map(({ config }) => JSON.stringify(config.database.cassandra.replication)),
    );
    expect(replication.size).toBe(1); // the keyspace is one: its replication must not differ by region
    const prefixes = new Set(loaded.map(({ config }) => config.nats.subject_prefix));
    expect(prefixes.size).toBe(1); // events cross regions on shared subjects
    for (const { file, config } of loaded) {
      expect(isMultiRegion(config)).toBe(true);
      expect(file).toBe(`region-${config.instance.region}.json`);
      const own = config.instance.regions[config.instance.region];
      expect(config.instance.region_id).toBe(own.id);
      expect(config.database.cassandra.local_dc).toBe(own.dc);
      expect(config.database.cassandra.consistency).toEqual({
        read: 'LOCAL_QUORUM',
        write: 'LOCAL_QUORUM',
        serial: 'LOCAL_SERIAL',
        // Uniqueness claims (usernames, emails) stay unique across regions.
        claim: 'SERIAL',
      });
    }
    // Every region of the table has its own file, and their ids (the snowflakes' region bits) differ.
    const regions = loaded.map(({ config }) => config.instance.region).sort();
    expect(regions).toEqual(Object.keys(loaded[0].config.instance.regions).sort());
    expect(new Set(loaded.map(({ config }) => config.instance.region_id)).size).toBe(loaded.length);
  });

  it('leaves single-region deployments alone', () => {
    const config = loadConfig({ cwd: ROOT, env: {} });
    expect(config.instance.regions).toEqual({});
    expect(isMultiRegion(config)).toBe(false);
  });

  it('refuses a region id that is not the region name’s in the table', () => {
    expect(problems(() => load(REGION_FILES[0], { PARLEY__INSTANCE__REGION_ID: '5' }))).toEqual([
      expect.stringMatching(/^instance\.region_id: must be \d, region [a-z-]+'s id in instance\.regions/),
    ]);
  });

  it('refuses a region missing from the table', () => {
    expect(problems(() => load(REGION_FILES[0], { PARLEY__INSTANCE__REGION: 'ap-south' }))).toEqual([
      expect.stringMatching(/^instance\.region: "ap-south" is not in instance\.regions/),
    ]);
  });

  it('refuses two regions with one id or one data centre', () => {
    const env = {
      PARLEY__INSTANCE__REGION: 'eu-west',
      PARLEY__INSTANCE__REGION_ID: '1',
      PARLEY__DATABASE__CASSANDRA__LOCAL_DC: 'dc1',
      PARLEY__INSTANCE__REGIONS: JSON.stringify({
        'eu-west': { id: 1, dc: 'dc1' },
        'us-east': { id: 1, dc: 'dc1' },
      }),
    };
    const found = problems(() => load(REGION_FILES[0], env));
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^instance\.regions\.us-east\.id: region id 1 is also eu-west's/),
        expect.stringMatching(/^instance\.regions\.us-east\.dc: data centre "dc1" is also eu-west's/),
      ]),
    );
  });

  it('requires replicas in every region’s data centre, the region’s own local_dc, microservices and Cassandra', () => {
    const found = problems(() =>
      load(REGION_FILES[0], {
        PARLEY__INSTANCE__REGION: 'eu-west',
        PARLEY__INSTANCE__REGION_ID: '1',
        PARLEY__DATABASE__CASSANDRA__LOCAL_DC: 'dc2',
        // Objects merge key by key: a third region whose data centre the keyspace does not replicate to.
        PARLEY__INSTANCE__REGIONS: '{"ap-south":{"id":3,"dc":"dc3"}}',
        PARLEY__INSTANCE__DEPLOYMENT_MODE: 'monolith',
        PARLEY__DATABASE__BACKEND: 'sqlite',
      }),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^database\.cassandra\.replication: must give region ap-south's data centre "dc3"/,
        ),
        expect.stringMatching(/^database\.cassandra\.local_dc: must be "dc1"/),
        expect.stringMatching(/^instance\.deployment_mode: must be "microservices"/),
        expect.stringMatching(/^database\.backend: must be "cassandra"/),
      ]),
    );
  });

  it('keeps region ids inside the snowflake’s three bits', () => {
    const found = problems(() =>
      load(REGION_FILES[0], {
        PARLEY__INSTANCE__REGIONS: JSON.stringify({ 'eu-west': { id: 8, dc: 'dc1' } }),
      }),
    );
    expect(found).toEqual(
      expect.arrayContaining([expect.stringMatching(/^instance\.regions\.eu-west\.id: /)]),
    );
  });
});
