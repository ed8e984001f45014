import { existsSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ParleyConfig } from '@parley/config';
import {
  BULK_TABLES,
  CassandraStorage,
  SqliteBulk,
  SqliteStorage,
  type BulkStorage,
  type Storage,
} from '@parley/storage';

/** A database named on the command line: `sqlite:<path>`, `cassandra` or `cassandra:<keyspace>`. */
export type EndpointSpec = { kind: 'sqlite'; path: string } | { kind: 'cassandra'; keyspace: string };

/** A command-line mistake: the CLI prints it with the usage and exits 64. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const KEYSPACE = /^[a-z][a-z0-9_]{0,47}$/;

export function parseEndpoint(text: string, config: ParleyConfig, cwd = process.cwd()): EndpointSpec {
  if (text.startsWith('sqlite:')) {
    const path = text.slice('sqlite:'.length);
    if (!path) throw new UsageError('sqlite: needs a path, e.g. sqlite:./data/parley.db');
    return { kind: 'sqlite', path: resolve(cwd, path) };
  }
  if (text === 'cassandra') return { kind: 'cassandra', keyspace: config.database.cassandra.keyspace };
  if (text.startsWith('cassandra:')) {
    const keyspace = text.slice('cassandra:'.length);
    if (!KEYSPACE.test(keyspace))
      throw new UsageError(`"${keyspace}" is not a keyspace name ([a-z][a-z0-9_]*)`);
    return { kind: 'cassandra', keyspace };
  }
  throw new UsageError(`"${text}" names no database: use sqlite:<path>, cassandra or cassandra:<keyspace>`);
}

/** The database the configuration points at (database.backend). */
export function configuredEndpoint(config: ParleyConfig, cwd = process.cwd()): EndpointSpec {
  return config.database.backend === 'sqlite'
    ? { kind: 'sqlite', path: resolve(cwd, config.database.sqlite.path) }
    : { kind: 'cassandra', keyspace: config.database.cassandra.keyspace };
}

export function describeEndpoint(spec: EndpointSpec, config: ParleyConfig): string {
  return spec.kind === 'sqlite'
    ? `sqlite:${spec.path}`
    : `cassandra:${spec.keyspace} (${config.database.cassandra.hosts.join(',')}, ${config.database.cassandra.local_dc})`;
}

export function sameEndpoint(a: EndpointSpec, b: EndpointSpec): boolean {
  if (a.kind === 'sqlite' && b.kind === 'sqlite') {
    const real = (p: string) => (existsSync(p) ? realpathSync(p) : p);
    return real(a.path) === real(b.path);
  }
  return a.kind === 'cassandra' && b.kind === 'cassandra' && a.keyspace === b.keyspace;
}

export interface Endpoint {
  spec: EndpointSpec;
  label: string;
  /** Stable identity (checkpoints are kept under the source's). */
  id: string;
  bulk: BulkStorage;
  /** The full storage when opened as a target (the repositories), null for a read-only source. */
  storage: Storage | null;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Requests in flight to Cassandra from this process. */
  maxInFlight?: number;
}

/**
 * Opens a database to read from. SQLite is opened read-only (a migration or export never writes into
 * its source, which may be serving). Nothing is created: a missing file or keyspace is an error.
 */
export async function openSource(
  spec: EndpointSpec,
  config: ParleyConfig,
  options: OpenOptions = {},
): Promise<Endpoint> {
  const label = describeEndpoint(spec, config);
  if (spec.kind === 'sqlite') {
    if (!existsSync(spec.path)) throw new UsageError(`no SQLite database at ${spec.path}`);
    const bulk = SqliteBulk.openReadOnly(spec.path);
    try {
      for (const table of BULK_TABLES) await bulk.count(table);
    } catch (err) {
      bulk.close();
      throw new Error(
        `${spec.path} is not a Parley database with the current schema (${(err as Error).message}); ` +
          'run `npx parley schema migrate` against it first',
      );
    }
    return {
      spec,
      label,
      id: `sqlite:${realpathSync(spec.path)}`,
      bulk,
      storage: null,
      close: () => Promise.resolve(bulk.close()),
    };
  }
  const storage = cassandra(spec, config, options);
  try {
    await storage.bulk.scan('guilds', null, 1);
  } catch (err) {
    await storage.close();
    throw new Error(`cannot read keyspace ${spec.keyspace}: ${(err as Error).message}`);
  }
  return {
    spec,
    label,
    id: cassandraId(spec, config),
    bulk: storage.bulk,
    storage,
    close: () => storage.close(),
  };
}

/** Opens a database to write into, creating it (file, keyspace, schema) when missing. */
export async function openTarget(
  spec: EndpointSpec,
  config: ParleyConfig,
  options: OpenOptions = {},
): Promise<Endpoint> {
  const storage =
    spec.kind === 'sqlite'
      ? new SqliteStorage({ ...config.database.sqlite, path: spec.path })
      : cassandra(spec, config, options);
  try {
    await storage.migrate();
  } catch (err) {
    await storage.close();
    throw err;
  }
  return {
    spec,
    label: describeEndpoint(spec, config),
    id: spec.kind === 'sqlite' ? `sqlite:${realpathSync(spec.path)}` : cassandraId(spec, config),
    bulk: storage.bulk,
    storage,
    close: () => storage.close(),
  };
}

function cassandra(spec: { keyspace: string }, config: ParleyConfig, options: OpenOptions): CassandraStorage {
  return new CassandraStorage(
    { ...config.database.cassandra, keyspace: spec.keyspace },
    { bulk: { maxInFlight: options.maxInFlight } },
  );
}

function cassandraId(spec: { keyspace: string }, config: ParleyConfig): string {
  return `cassandra:${config.database.cassandra.hosts.join(',')}/${spec.keyspace}`;
}
