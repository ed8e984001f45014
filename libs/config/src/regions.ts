/**
 * Multi-region rules, checked once at boot with the rest of the schema.
 *
 * `instance.regions` is the deployment's table of regions, `{"<name>": {"id": <0-7>, "dc": "<cassandra dc>"}}`,
 * identical in every region's configuration; empty (the default) means a single-region deployment and none of
 * this applies. A snowflake is `time | region id (3 bits) | node id (7 bits) | sequence`, so two processes can
 * only mint the same id if they share both the region id and the node id: the table makes region ids a
 * one-to-one function of region names (a region named in a config can only ever use its own id), and node ids
 * are unique inside a region (configured per process, or leased in the region's Redis). The running processes
 * also compare their identities over NATS at start (libs/bus region census), which catches two regions whose
 * tables disagree.
 */

export interface RegionEntry {
  id: number;
  dc: string;
}

/** The part of the configuration these rules read (structural, so the schema can call them while parsing). */
interface RegionView {
  instance: {
    deployment_mode: string;
    region: string;
    region_id: number;
    regions: Record<string, RegionEntry>;
  };
  database: {
    backend: string;
    cassandra: { local_dc: string; replication: Record<string, number> };
  };
}

export interface RegionProblem {
  path: (string | number)[];
  message: string;
}

/** True when `instance.regions` lists the deployment's regions (multi-region mode). */
export function isMultiRegion(config: { instance: { regions: Record<string, RegionEntry> } }): boolean {
  return Object.keys(config.instance.regions).length > 0;
}

/**
 * A stable text of the region table (sorted), which every process of every region must share: the census
 * compares it, so two regions started from diverging tables refuse to run side by side.
 */
export function regionTableText(regions: Record<string, RegionEntry>): string {
  return Object.keys(regions)
    .sort()
    .map((name) => `${name}=${regions[name].id}@${regions[name].dc}`)
    .join(',');
}

export function regionProblems(cfg: RegionView): RegionProblem[] {
  const regions = cfg.instance.regions;
  const names = Object.keys(regions);
  if (names.length === 0) return [];
  const problems: RegionProblem[] = [];
  const at = (...path: string[]) => ['instance', ...path];

  const byId = new Map<number, string>();
  const byDc = new Map<string, string>();
  for (const name of names) {
    const { id, dc } = regions[name];
    const other = byId.get(id);
    if (other !== undefined)
      problems.push({
        path: at('regions', name, 'id'),
        message: `region id ${id} is also ${other}'s: two regions with one id would mint colliding snowflakes`,
      });
    else byId.set(id, name);
    const sharing = byDc.get(dc);
    if (sharing !== undefined)
      problems.push({
        path: at('regions', name, 'dc'),
        message: `data centre "${dc}" is also ${sharing}'s: each region has its own Cassandra data centre`,
      });
    else byDc.set(dc, name);
    if (!(cfg.database.cassandra.replication[dc] > 0))
      problems.push({
        path: ['database', 'cassandra', 'replication'],
        message: `must give region ${name}'s data centre "${dc}" replicas (each region reads and writes its own data centre)`,
      });
  }

  const own = regions[cfg.instance.region];
  if (!own) {
    problems.push({
      path: at('region'),
      message: `"${cfg.instance.region}" is not in instance.regions (${names.join(', ')})`,
    });
  } else {
    if (cfg.instance.region_id !== own.id)
      problems.push({
        path: at('region_id'),
        message: `must be ${own.id}, region ${cfg.instance.region}'s id in instance.regions (it is ${cfg.instance.region_id})`,
      });
    if (cfg.database.cassandra.local_dc !== own.dc)
      problems.push({
        path: ['database', 'cassandra', 'local_dc'],
        message: `must be "${own.dc}", region ${cfg.instance.region}'s data centre in instance.regions`,
      });
  }
  if (cfg.instance.deployment_mode !== 'microservices')
    problems.push({
      path: at('deployment_mode'),
      message:
        'must be "microservices" with several regions (events cross regions over NATS, not in one process)',
    });
  if (cfg.database.backend !== 'cassandra')
    problems.push({
      path: ['database', 'backend'],
      message: 'must be "cassandra" with several regions (one data centre per region)',
    });
  return problems;
}
