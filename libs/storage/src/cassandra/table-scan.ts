import type { types } from 'cassandra-driver';
import type { CassandraSession } from './session';

/** Rows per page of a migration code step's scan. */
export const SCAN_PAGE = 1000;
/** How often a long scan renews the schema migration lease (its TTL is 120 s). */
const LEASE_RENEW_MS = 30_000;

/** Renews the lease at most every LEASE_RENEW_MS, for loops that cannot tell how long they take. */
export function leaseKeeper(renew: () => Promise<void>): () => Promise<void> {
  let last = Date.now();
  return async () => {
    if (Date.now() - last < LEASE_RENEW_MS) return;
    await renew();
    last = Date.now();
  };
}

/**
 * The paged whole-table scan of migration code steps: `query` in token order, SCAN_PAGE rows at a time by the
 * driver's paging state, each page handed to `onPage` (awaited before the next is read, so memory stays one
 * page) and the migration lease renewed as it goes. Returns the number of rows read.
 */
export async function scanTable(
  session: CassandraSession,
  renew: () => Promise<void>,
  query: string,
  onPage: (rows: types.Row[]) => Promise<void>,
): Promise<number> {
  const keep = leaseKeeper(renew);
  let pageState: string | undefined;
  let rows = 0;
  do {
    const rs = await session.execute('read', query, [], {
      idempotent: true,
      fetchSize: SCAN_PAGE,
      pageState,
    });
    await onPage(rs.rows);
    rows += rs.rows.length;
    pageState = rs.pageState ?? undefined;
    await keep();
  } while (pageState);
  return rows;
}
