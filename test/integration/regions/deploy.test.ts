import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@parley/config';
import { parse } from 'yaml';

// deploy/multi-region/ is checked, not just written: the files parse, each region's overlay yields a
// configuration the real schema accepts for that region, and the NATS files agree with the region table.

const ROOT = join(__dirname, '../../..');
const DIR = join(ROOT, 'deploy/multi-region');
const NATS_SERVER = '/usr/sbin/nats-server';
const REGIONS = readdirSync(join(DIR, 'kubernetes/overlays')).sort();

type Doc = Record<string, any>;
const yaml = (path: string) => parse(readFileSync(path, 'utf8')) as Doc;
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Doc;

/** The environment a Parley container of `region` gets: the base ConfigMap, merged with the overlay's literals. */
function containerEnv(region: string): Record<string, string> {
  const base = yaml(join(ROOT, 'deploy/kubernetes/configmap.yaml')).data as Record<string, string>;
  const overlay = yaml(join(DIR, 'kubernetes/overlays', region, 'kustomization.yaml'));
  const generator = (overlay.configMapGenerator as Doc[]).find((g) => g.name === 'parley-config');
  expect(generator?.behavior).toBe('merge');
  const env: Record<string, string> = { ...base };
  for (const literal of generator?.literals as string[]) {
    const at = literal.indexOf('=');
    env[literal.slice(0, at)] = literal.slice(at + 1);
  }
  return { ...env, PARLEY__MEDIA__SIGNING_SECRET: 'a-secret-of-at-least-thirty-two-characters!!' };
}

describe('deploy/multi-region', () => {
  it('has an overlay for every region of the example configuration, and nothing else', () => {
    const table = loadConfig({
      cwd: ROOT,
      // Microservices mode: the schema requires the shared media key (set from a Secret in the deployment).
      env: {
        PARLEY_CONFIG: 'config/region-eu-west.json',
        PARLEY__MEDIA__SIGNING_SECRET: 'a-secret-of-at-least-thirty-two-characters!!',
      },
    }).instance.regions;
    expect(REGIONS).toEqual(Object.keys(table).sort());
    const base = yaml(join(DIR, 'kubernetes/base/kustomization.yaml'));
    for (const resource of base.resources as string[])
      expect({ resource, exists: existsSync(join(DIR, 'kubernetes/base', resource)) }).toEqual({
        resource,
        exists: true,
      });
  });

  it.each(REGIONS)('%s: the overlay gives every role a valid configuration for its own region', (region) => {
    const config = loadConfig({ cwd: ROOT, env: containerEnv(region) });
    expect(config.instance.region).toBe(region);
    const own = config.instance.regions[region];
    expect(config.instance.region_id).toBe(own.id);
    expect(config.database.cassandra.local_dc).toBe(own.dc);
    expect(config.database.cassandra.hosts.every((h) => h.includes(own.dc))).toBe(true);
    expect(config.database.cassandra.consistency.serial).toBe('LOCAL_SERIAL');
    expect(config.nats.url).toMatch(/^nats:\/\/nats-0\.nats:4222,/); // the region's JetStream servers
    expect(config.instance.claim_node_id).toBe(true);
    const overlay = yaml(join(DIR, 'kubernetes/overlays', region, 'kustomization.yaml'));
    const files = (overlay.configMapGenerator as Doc[]).find((g) => g.name === 'nats-config')
      ?.files as string[];
    for (const file of files) {
      expect(file).toContain(`/nats/${region}/`);
      expect(existsSync(join(DIR, 'kubernetes/overlays', region, file))).toBe(true);
    }
  });

  it.each(REGIONS)('%s: JetStream in its own domain, leaf of the region’s supercluster members', (region) => {
    const jetstream = readFileSync(join(DIR, 'nats', region, 'jetstream.conf'), 'utf8');
    const gateway = readFileSync(join(DIR, 'nats', region, 'gateway.conf'), 'utf8');
    expect(jetstream).toMatch(new RegExp(`^\\s*domain: ${region}$`, 'm'));
    expect(jetstream).toMatch(new RegExp(`^\\s*name: ${region}-jetstream$`, 'm')); // never the gateway cluster's name
    expect(jetstream).toMatch(/leafnodes \{\s*remotes:/);
    expect(gateway).not.toMatch(/^\s*jetstream \{/m); // no JetStream in the supercluster itself
    expect(gateway).toMatch(new RegExp(`cluster \\{\\s*name: ${region}\\s`));
    expect(gateway).toMatch(new RegExp(`gateway \\{\\s*name: ${region}\\s`));
    for (const other of REGIONS) expect(gateway).toMatch(new RegExp(`\\{ name: ${other}, urls: \\[`));
    expect(gateway).toMatch(/tls \{[^}]*verify: true/);
  });

  it.each(REGIONS)('%s: nats-server accepts both files', (region) => {
    if (!existsSync(NATS_SERVER))
      throw new Error(
        `${NATS_SERVER} is missing: apt-get install nats-server (it checks the configuration files)`,
      );
    const env = {
      PATH: process.env.PATH ?? '',
      SERVER_NAME: 'nats-0',
      GATEWAY_ADVERTISE: '203.0.113.10:7222',
      NATS_SYS_PASSWORD: 'sys-password',
      NATS_PARLEY_PASSWORD: 'parley-password',
      LEAF_URL_0: 'nats-leaf://parley:parley-password@nats-gateway-0.nats-gateway:7422',
      LEAF_URL_1: 'nats-leaf://parley:parley-password@nats-gateway-1.nats-gateway:7422',
      LEAF_URL_2: 'nats-leaf://parley:parley-password@nats-gateway-2.nats-gateway:7422',
    };
    const tmp = mkdtempSync(join(tmpdir(), 'parley-nats-conf-'));
    try {
      // The gateway's TLS files exist only in the cluster: check the rest without them.
      const gateway = readFileSync(join(DIR, 'nats', region, 'gateway.conf'), 'utf8').replace(
        /tls \{[^}]*\}/,
        '',
      );
      writeFileSync(join(tmp, 'gateway.conf'), gateway);
      for (const file of [join(DIR, 'nats', region, 'jetstream.conf'), join(tmp, 'gateway.conf')]) {
        const check = spawnSync(NATS_SERVER, ['-t', '-c', file], { env, encoding: 'utf8' });
        expect({ file, status: check.status, output: check.stderr + check.stdout }).toMatchObject({
          file,
          status: 0,
        });
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('Route 53: health checks on each region’s readiness, per-continent records that fail over', () => {
    const records = json(join(DIR, 'geodns/route53/records.json')).Changes.map(
      (c: Doc) => c.ResourceRecordSet,
    ) as Doc[];
    for (const region of REGIONS) {
      const check = json(join(DIR, `geodns/route53/health-check-${region}.json`));
      expect(check).toMatchObject({ Type: 'HTTPS', ResourcePath: '/health/ready' });
      expect(check.FullyQualifiedDomainName).toBe(`${region}.chat.example.org`);
      const own = records.find((r) => r.Name === `${region}.chat.example.org`);
      expect(own?.HealthCheckId).toEqual(expect.any(String));
    }
    const geo = records.filter((r) => r.Name === 'chat.example.org');
    expect(geo.every((r) => r.GeoLocation && r.AliasTarget?.EvaluateTargetHealth === true)).toBe(true);
    const fallback = geo.find((r) => r.GeoLocation.CountryCode === '*');
    const pair = records.filter((r) => r.Name === fallback?.AliasTarget.DNSName);
    expect(pair.map((r) => r.Failover).sort()).toEqual(['PRIMARY', 'SECONDARY']);
    expect(new Set(pair.map((r) => r.AliasTarget.DNSName)).size).toBe(REGIONS.length);
  });

  it('Cloudflare: a readiness monitor, a pool per region, geo steering with every region in each failover order', () => {
    expect(json(join(DIR, 'geodns/cloudflare/monitor.json'))).toMatchObject({
      path: '/health/ready',
      expected_codes: '200',
    });
    for (const region of REGIONS) {
      const pool = json(join(DIR, `geodns/cloudflare/pool-${region}.json`));
      expect(pool.name).toBe(`parley-${region}`);
      expect(pool.monitor).toEqual(expect.any(String));
    }
    const lb = json(join(DIR, 'geodns/cloudflare/load-balancer.json'));
    expect(lb.steering_policy).toBe('geo');
    for (const pools of Object.values(lb.region_pools as Record<string, string[]>))
      expect(new Set(pools).size).toBe(REGIONS.length);
    expect(lb.default_pools).toHaveLength(REGIONS.length);
    expect(lb.fallback_pool).toEqual(expect.any(String));
  });
});
