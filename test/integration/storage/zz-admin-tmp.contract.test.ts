import { CassandraStorage, type Storage } from '@parley/storage';
import { describeStorageContract } from '@parley/storage/testing';
import { cassandraSettings, dropKeyspace, requireCassandra, testKeyspace } from '../cassandra/support';

// A real Cassandra node on 127.0.0.1:9042 (`npm run cassandra:up`); schema creation takes seconds.
jest.setTimeout(900_000);

const keyspace = testKeyspace('parley_admctr');

describeStorageContract(
  'cassandra',
  async () => {
    await requireCassandra();
    return new CassandraStorage(cassandraSettings({ keyspace, request_timeout: 60_000 }));
  },
  async (storage: Storage | undefined) => {
    await storage?.close();
    await dropKeyspace(keyspace);
  },
);
