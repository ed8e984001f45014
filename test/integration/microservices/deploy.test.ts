import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { deepMerge, envOverrides, validateConfig } from '@parley/config';
import { parseAllDocuments, parse } from 'yaml';

const DEPLOY = join(__dirname, '../../../deploy');
const DEFAULTS = JSON.parse(readFileSync(join(__dirname, '../../../config/default.json'), 'utf8')) as Record<
  string,
  unknown
>;
const ROLES = { api: 8080, gateway: 8081, 'media-proxy': 8082, queue: 8083 } as const;

type Doc = Record<string, any>;

function manifests(): Doc[] {
  const docs: Doc[] = [];
  for (const file of readdirSync(join(DEPLOY, 'kubernetes')).filter((f) => f.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(readFileSync(join(DEPLOY, 'kubernetes', file), 'utf8'))) {
      expect({ file, errors: doc.errors.map((e) => e.message) }).toEqual({ file, errors: [] });
      docs.push(doc.toJS() as Doc);
    }
  }
  return docs;
}

function find(docs: Doc[], kind: string, name: string): Doc {
  const doc = docs.find((d) => d.kind === kind && d.metadata?.name === name);
  if (!doc) throw new Error(`no ${kind} ${name} in deploy/kubernetes`);
  return doc;
}

/** The environment a container gets from the ConfigMap and its own env, as the config loader reads it. */
function validateEnv(env: Record<string, string>): void {
  const tree = envOverrides(env);
  validateConfig(deepMerge(DEFAULTS, tree));
}

describe('deploy/: manifests are valid, not just written', () => {
  const docs = manifests();
  const config = find(docs, 'ConfigMap', 'parley-config');

  it.each(Object.entries(ROLES))(
    '%s: a Deployment with probes, requests and a Service on its port',
    (role, port) => {
      const name = `parley-${role}`;
      const deployment = find(docs, 'Deployment', name);
      expect(deployment.apiVersion).toBe('apps/v1');
      const labels = deployment.spec.selector.matchLabels as Record<string, string>;
      expect(deployment.spec.template.metadata.labels).toMatchObject(labels);
      const [container] = deployment.spec.template.spec.containers as Doc[];
      expect(container.command.join(' ')).toContain(`dist/apps/${role}/src/main.js`);
      expect(container.ports).toEqual([{ name: 'http', containerPort: port }]);
      expect(container.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
      expect(container.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(container.resources.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
      expect(container.envFrom).toEqual([{ configMapRef: { name: 'parley-config' } }]);
      const service = find(docs, 'Service', name);
      expect(service.spec.selector).toEqual(labels);
      expect(service.spec.ports).toEqual([{ name: 'http', port, targetPort: 'http' }]);

      // What the process would load validates against the real schema, and listens where the probes look.
      const env: Record<string, string> = { ...(config.data as Record<string, string>) };
      for (const e of container.env as Doc[])
        env[e.name] = e.value ?? 'a-secret-of-at-least-thirty-two-characters!!';
      env.PARLEY__INSTANCE__NODE_ID = '7';
      expect(() => validateEnv(env)).not.toThrow();
      const loaded = validateConfig(deepMerge(DEFAULTS, envOverrides(env)));
      expect(loaded.instance.deployment_mode).toBe('microservices');
      expect(loaded.instance.claim_node_id).toBe(true); // replicas share this config: ids come from Redis leases
      const listening = {
        api: loaded.server.port,
        gateway: loaded.gateway.port,
        'media-proxy': loaded.media_proxy.port,
        queue: loaded.queue.port,
      }[role];
      expect(listening).toBe(port);
    },
  );

  it('scales api and gateway with an HPA and keeps gateways available with a PodDisruptionBudget', () => {
    for (const role of ['api', 'gateway']) {
      const hpa = find(docs, 'HorizontalPodAutoscaler', `parley-${role}`);
      expect(hpa.apiVersion).toBe('autoscaling/v2');
      expect(hpa.spec.scaleTargetRef).toEqual({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: `parley-${role}`,
      });
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
      expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
      expect(hpa.spec.metrics.length).toBeGreaterThan(0);
    }
    const pdb = find(docs, 'PodDisruptionBudget', 'parley-gateway');
    expect(pdb.apiVersion).toBe('policy/v1');
    expect(pdb.spec.selector.matchLabels).toEqual(
      find(docs, 'Deployment', 'parley-gateway').spec.selector.matchLabels,
    );
    expect(pdb.spec.maxUnavailable ?? pdb.spec.minAvailable).toBeDefined();
  });

  it('compose file: NATS with JetStream, Redis, and every role in microservices mode with a valid config', () => {
    const compose = parse(readFileSync(join(DEPLOY, 'compose/microservices.yml'), 'utf8'), {
      merge: true,
    }) as Doc;
    const services = compose.services as Record<string, Doc>;
    expect(services.nats.command).toContain('-js');
    expect(services.redis).toBeDefined();
    for (const role of Object.keys(ROLES)) {
      const instances = Object.entries(services).filter(([, s]) =>
        (s.command as string[] | undefined)?.includes(`dist/apps/${role}/src/main.js`),
      );
      expect({ role, count: instances.length > 0 }).toEqual({ role, count: true });
      for (const [, s] of instances) {
        const env = { ...(s.environment as Record<string, string>) };
        env.PARLEY__MEDIA__SIGNING_SECRET = 'a-secret-of-at-least-thirty-two-characters!!';
        expect(env.PARLEY__INSTANCE__DEPLOYMENT_MODE).toBe('microservices');
        expect(() => validateEnv(env)).not.toThrow();
      }
    }
    const nodeIds = Object.values(services)
      .map((s) => (s.environment as Record<string, string> | undefined)?.PARLEY__INSTANCE__NODE_ID)
      .filter(Boolean);
    expect(new Set(nodeIds).size).toBe(nodeIds.length);
  });

  it('reverse proxies pass WebSocket upgrades without buffering and with long timeouts', () => {
    const nginx = readFileSync(join(DEPLOY, 'nginx/parley.conf'), 'utf8');
    const gatewayBlock = /location \/gateway\/ \{([^}]*)\}/.exec(nginx)?.[1] ?? '';
    expect(gatewayBlock).toContain('proxy_http_version 1.1');
    expect(gatewayBlock).toMatch(/proxy_set_header Upgrade \$http_upgrade/);
    expect(gatewayBlock).toMatch(/proxy_set_header Connection \$connection_upgrade/);
    expect(gatewayBlock).toContain('proxy_buffering off');
    expect(Number(/proxy_read_timeout (\d+)s/.exec(gatewayBlock)?.[1])).toBeGreaterThan(60);
    const caddy = readFileSync(join(DEPLOY, 'caddy/Caddyfile'), 'utf8');
    expect(caddy).toMatch(/handle \/gateway\*/);
    expect(caddy).toContain('flush_interval -1');
    expect(caddy).toMatch(/stream_timeout \S+/);
  });

  it('systemd units raise LimitNOFILE and run the right entry points', () => {
    const role = readFileSync(join(DEPLOY, 'systemd/parley@.service'), 'utf8');
    expect(role).toMatch(/^LimitNOFILE=\d{5,}$/m);
    expect(role).toMatch(/^ExecStart=.*dist\/apps\/%i\/src\/main\.js$/m);
    expect(role).toMatch(/^Environment=PARLEY__INSTANCE__DEPLOYMENT_MODE=microservices$/m);
    const monolith = readFileSync(join(DEPLOY, 'systemd/parley.service'), 'utf8');
    expect(monolith).toMatch(/^LimitNOFILE=\d{5,}$/m);
  });
});
