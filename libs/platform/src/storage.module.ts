import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { ConfigError, PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { AppLogger, Metrics, Readiness } from '@parley/observability';
import { instrumentStorage, registerSqliteWalMetrics } from './instrumented-storage';
import { CassandraStorage, SqliteStorage, STORAGE, type Storage } from '@parley/storage';

/**
 * Opens the configured storage backend and applies pending migrations before anything serves (which also sets
 * this process's snowflake epoch to the instance's: Storage.migrate). A process starting (`atStartup`) on
 * Cassandra never changes a keyspace's replication nor backfills data in one that holds some: it refuses to start,
 * naming `parley schema migrate`, which opens the storage without `atStartup`.
 */
export async function openStorage(
  config: ParleyConfig,
  log?: AppLogger,
  options: { atStartup?: boolean } = {},
): Promise<Storage> {
  const backend = config.database.backend;
  switch (backend) {
    case 'sqlite': {
      const storage = new SqliteStorage(config.database.sqlite);
      const applied = await storage.migrate();
      if (applied.length > 0) log?.info({ applied }, 'applied sqlite migrations');
      return storage;
    }
    case 'cassandra': {
      const storage = new CassandraStorage(config.database.cassandra);
      try {
        const applied = await storage.migrate({ atStartup: options.atStartup === true });
        if (applied.length > 0) log?.info({ applied }, 'applied cassandra migrations');
        const changed = storage.lastMigration?.replicationChanged;
        if (changed)
          log?.warn(
            { keyspace: config.database.cassandra.keyspace, ...changed },
            'changed the keyspace replication to match database.cassandra.replication: run a full repair (nodetool repair --full) on every node',
          );
      } catch (err) {
        await storage.close();
        throw err;
      }
      return storage;
    }
    default:
      throw new ConfigError([`database.backend: unknown backend "${String(backend satisfies never)}"`]);
  }
}

@Global()
@Module({
  providers: [
    {
      provide: STORAGE,
      inject: [PARLEY_CONFIG, AppLogger, Readiness, Metrics],
      useFactory: async (config: ParleyConfig, log: AppLogger, readiness: Readiness, metrics: Metrics) => {
        const storage = await openStorage(config, log, { atStartup: true });
        readiness.register(`database:${storage.backend}`, () => storage.ping());
        const dc =
          storage.backend === 'cassandra' ? config.database.cassandra.local_dc : config.instance.region;
        instrumentStorage(storage, metrics, dc);
        if (storage.backend === 'sqlite') registerSqliteWalMetrics(config.database.sqlite.path, metrics);
        return storage;
      },
    },
  ],
  exports: [STORAGE],
})
export class StorageModule implements OnApplicationShutdown {
  constructor(@Inject(STORAGE) private readonly storage: Storage) {}

  async onApplicationShutdown(): Promise<void> {
    await this.storage.close();
  }
}
