import type { ParleyConfig } from '@parley/config';
import type { Client, policies, QueryOptions, tracker, types } from 'cassandra-driver';
import { cassandraDriver } from './driver';
import { DatabaseUnavailableError, mapDriverError } from './errors';

export type CassandraSettings = ParleyConfig['database']['cassandra'];
export type ConsistencyName = CassandraSettings['consistency']['read'];

/**
 * Operation classes, each with its consistency from config:
 * - read: every SELECT (`consistency.read`)
 * - write: every plain INSERT/UPDATE/DELETE and batch (`consistency.write`)
 * - lwt: lightweight transactions; Paxos runs at `consistency.serial`, the commit at `consistency.write`
 * - serialRead: a SELECT that must see the latest LWT result (`consistency.serial`), used before a CAS
 * - claim: lightweight transactions on rows that must be unique in every data centre (usernames, emails, DM
 *   pairs, invite codes); Paxos at `consistency.claim` (SERIAL unless configured otherwise), so two regions
 *   never both win one name even where the other LWTs run at LOCAL_SERIAL
 * - claimRead: a SELECT that must see the latest claim (`consistency.claim`)
 * - readAll: a SELECT every replica must answer (ALL), for the rare check that must not be fooled by a data
 *   centre that has not yet received a row (is a claim's holder really gone?); fails while a replica is down
 */
export type OperationClass = 'read' | 'write' | 'lwt' | 'serialRead' | 'claim' | 'claimRead' | 'readAll';

export interface StatementOptions {
  /** Safe to send again (to another host) after a timeout: plain upserts and deletes, reads. */
  idempotent: boolean;
  fetchSize?: number;
  /** Where a paged read goes on (the previous page's `pageState`). */
  pageState?: string;
  /** Microsecond write timestamp (for writes whose order must not depend on arrival). */
  timestamp?: bigint;
}

const CONSISTENCY_KEY = {
  ONE: 'one',
  TWO: 'two',
  THREE: 'three',
  QUORUM: 'quorum',
  ALL: 'all',
  LOCAL_QUORUM: 'localQuorum',
  EACH_QUORUM: 'eachQuorum',
  LOCAL_ONE: 'localOne',
  SERIAL: 'serial',
  LOCAL_SERIAL: 'localSerial',
} as const satisfies Record<ConsistencyName | 'SERIAL' | 'LOCAL_SERIAL', string>;

export function consistencyCode(name: keyof typeof CONSISTENCY_KEY): number {
  return cassandraDriver().types.consistencies[CONSISTENCY_KEY[name]];
}

/**
 * Speculative execution for reads only: an idempotent SELECT unanswered after `delay` ms is also sent to the
 * next replica of the query plan (the local DC's), and the first answer wins. Idempotent writes are also marked
 * idempotent (so that a timed-out attempt may be retried) but are never sent twice on speculation: that would
 * double the write load of a slow node, the opposite of what helps it.
 */
export function readSpeculation(delay: number): policies.speculativeExecution.SpeculativeExecutionPolicy {
  const { speculativeExecution } = cassandraDriver().policies;
  const reads = new speculativeExecution.ConstantSpeculativeExecutionPolicy(delay, 1);
  const none = new speculativeExecution.NoSpeculativeExecutionPolicy();
  const policy = Object.create(reads) as policies.speculativeExecution.SpeculativeExecutionPolicy;
  policy.newPlan = (keyspace: string, queryInfo: string | object[]) =>
    typeof queryInfo === 'string' && /^\s*select\b/i.test(queryInfo)
      ? reads.newPlan(keyspace, queryInfo)
      : none.newPlan(keyspace, queryInfo);
  return policy;
}

export interface SessionOptions {
  /** Observes every request the driver sends (tests use it to see the consistency actually sent). */
  requestTracker?: tracker.RequestTracker;
  /**
   * A client for schema changes only: the driver neither waits for schema agreement after each statement
   * (half a second per poll) nor refreshes its metadata; the migrator pins its statements to one coordinator
   * and waits for agreement once per migration (see migrator.ts).
   */
  schemaChanges?: boolean;
}

/**
 * One driver Client per process, bound to the keyspace. Every statement is prepared (which also makes
 * routing token-aware: the driver's default policy is TokenAware(DCAwareRoundRobin(local_dc)), so a
 * request goes to a replica in the local DC and never to a remote one). Each call carries the
 * consistency of its operation class and a deadline of `request_timeout`, after which the caller gets a
 * 503 whatever the driver is still doing.
 */
export class CassandraSession {
  readonly client: Client;
  private readonly levels: Record<OperationClass, { consistency: number; serial?: number }>;
  private readonly attemptTimeout: number;

  constructor(
    readonly settings: CassandraSettings,
    options: SessionOptions = {},
    /** null: a keyspace-less client (to create the keyspace). */
    keyspace: string | null = settings.keyspace,
  ) {
    const timeout = settings.request_timeout;
    this.attemptTimeout = Math.min(settings.attempt_timeout, timeout);
    const { Client, types } = cassandraDriver();
    this.client = new Client({
      contactPoints: settings.hosts,
      localDataCenter: settings.local_dc,
      keyspace: keyspace ?? undefined,
      protocolOptions: {
        port: settings.port,
        ...(options.schemaChanges ? { maxSchemaAgreementWaitSeconds: 0 } : {}),
      },
      isMetadataSyncEnabled: !options.schemaChanges,
      // Every node, in every data centre, is reachable by name: the migrator reads each one's schema.
      ...(options.schemaChanges
        ? { policies: { loadBalancing: new (cassandraDriver().policies.loadBalancing.RoundRobinPolicy)() } }
        : {}),
      credentials: settings.username
        ? { username: settings.username, password: settings.password }
        : undefined,
      encoding: { useBigIntAsLong: true, useBigIntAsVarint: true, useUndefinedAsUnset: true },
      pooling: {
        coreConnectionsPerHost: {
          [types.distance.local]: settings.pool_size,
          [types.distance.remote]: 1,
        },
      },
      socketOptions: {
        connectTimeout: Math.min(5000, timeout),
        // Per attempt: schema statements, scans and non-idempotent statements wait as long as the call may;
        // point statements that may go to another replica get `attempt_timeout` (execute below). The whole
        // call is bounded by `deadline`.
        readTimeout: timeout,
      },
      ...(options.schemaChanges || settings.speculative_read_delay === 0
        ? {}
        : { policies: { speculativeExecution: readSpeculation(settings.speculative_read_delay) } }),
      queryOptions: {
        prepare: true,
        consistency: consistencyCode(settings.consistency.read),
        serialConsistency: consistencyCode(settings.consistency.serial),
      },
      ...(options.requestTracker ? { requestTracker: options.requestTracker } : {}),
    });
    const write = consistencyCode(settings.consistency.write);
    const serial = consistencyCode(settings.consistency.serial);
    const claim = consistencyCode(settings.consistency.claim);
    this.levels = {
      read: { consistency: consistencyCode(settings.consistency.read) },
      write: { consistency: write },
      lwt: { consistency: write, serial },
      serialRead: { consistency: serial },
      claim: { consistency: write, serial: claim },
      claimRead: { consistency: claim },
      readAll: { consistency: cassandraDriver().types.consistencies.all },
    };
  }

  /** Runs one prepared statement at the consistency of its operation class. */
  async execute(
    cls: OperationClass,
    query: string,
    params: unknown[],
    options: StatementOptions,
  ): Promise<types.ResultSet> {
    const level = this.levels[cls];
    const queryOptions: QueryOptions = {
      prepare: true,
      consistency: level.consistency,
      isIdempotent: options.idempotent,
      fetchSize: options.fetchSize,
      pageState: options.pageState,
    };
    if (level.serial !== undefined) queryOptions.serialConsistency = level.serial;
    // A point statement safe to send again moves to the next replica after one attempt's wait (a scan's pages
    // may legitimately take as long as Cassandra's range_request_timeout, 10 s).
    if (options.idempotent && options.fetchSize === undefined && options.pageState === undefined)
      queryOptions.readTimeout = this.attemptTimeout;
    if (options.timestamp !== undefined)
      queryOptions.timestamp = cassandraDriver().types.Long.fromString(options.timestamp.toString());
    return this.deadline(this.client.execute(query, params, queryOptions));
  }

  /**
   * A logged batch (atomic across partitions: all or none eventually apply) at the write consistency; with
   * `logged` false, an unlogged one (for rows of a single partition: one mutation, no batchlog).
   */
  async batch(
    statements: { query: string; params: unknown[] }[],
    idempotent: boolean,
    logged = true,
  ): Promise<void> {
    if (statements.length === 0) return;
    await this.deadline(
      this.client.batch(statements, {
        prepare: true,
        logged,
        consistency: this.levels.write.consistency,
        isIdempotent: idempotent,
      }),
    );
  }

  /** Reads every row of a (bounded) query, following the driver's paging internally. */
  async all(query: string, params: unknown[], fetchSize = 1000): Promise<types.Row[]> {
    const rows: types.Row[] = [];
    let pageState: string | undefined;
    do {
      const rs = await this.deadline(
        this.client.execute(query, params, {
          prepare: true,
          consistency: this.levels.read.consistency,
          isIdempotent: true,
          fetchSize,
          pageState,
        }),
      );
      rows.push(...rs.rows);
      pageState = rs.pageState ?? undefined;
    } while (pageState);
    return rows;
  }

  async shutdown(): Promise<void> {
    await this.client.shutdown();
  }

  private async deadline<T>(work: Promise<T>): Promise<T> {
    const ms = this.settings.request_timeout;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new DatabaseUnavailableError(`no answer within request_timeout (${ms} ms)`)),
        ms,
      );
    });
    try {
      return await Promise.race([work, timeout]);
    } catch (err) {
      throw mapDriverError(err);
    } finally {
      clearTimeout(timer);
      // A late rejection of `work` after the deadline must not surface as unhandled.
      work.catch(() => undefined);
    }
  }
}
