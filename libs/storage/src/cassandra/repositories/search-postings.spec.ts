import { snowflakeAt } from '@parley/common';
import { messageRecord } from '../../testing/records';
import type { CassandraSession } from '../session';
import { SearchPostings } from './search-postings';

const message = (n: number) =>
  messageRecord({
    id: snowflakeAt(Date.UTC(2026, 11, 7) + n),
    channelId: '2000',
    authorId: '3000',
    guildId: '1000',
    content: 'harbour lantern',
  });

/**
 * A session at the unit's edge: posting INSERTs fail while `failing` is above zero (counting down), bucket
 * markers always succeed; every statement's CQL is recorded.
 */
function fakeSession(failing: number) {
  const state = { failing, inserts: [] as string[], resolveHeld: null as (() => void) | null };
  const session = {
    execute: (_cls: string, cql: string) => {
      if (!cql.startsWith('INSERT INTO message_search ')) return Promise.resolve({ rows: [] });
      state.inserts.push(cql);
      if (state.failing > 0) {
        state.failing--;
        return Promise.reject(new Error('write timeout'));
      }
      return Promise.resolve({ rows: [] });
    },
  };
  return { session: session as unknown as CassandraSession, state };
}

/** Lets the promise callbacks queued so far run. */
const flush = () => new Promise((resolve) => setImmediate(resolve));

describe("SearchPostings: a send's posting after the send", () => {
  afterEach(() => jest.useRealTimers());

  it("writes at the message's snowflake time, and settled() waits for the write in flight", async () => {
    const { session, state } = fakeSession(0);
    const postings = new SearchPostings(session);
    expect(postings.settled()).toBeUndefined();
    postings.write(message(1));
    const settled = postings.settled();
    expect(settled).toBeInstanceOf(Promise);
    await settled;
    expect(state.inserts).toHaveLength(1);
    expect(state.inserts[0]).toContain('USING TIMESTAMP ?');
    expect(postings.settled()).toBeUndefined();
    expect(postings.lost).toBe(0);
  });

  it("builds the posting after the send's own promise callbacks, in the next turn of the event loop", async () => {
    const { session, state } = fakeSession(0);
    const postings = new SearchPostings(session);
    const order: string[] = [];
    // The send path: the message's row resolved, the posting is started, the reply follows in promise callbacks.
    await Promise.resolve()
      .then(() => postings.write(message(5)))
      .then(() => order.push(`reply (postings written: ${state.inserts.length})`))
      .then(() => order.push(`event (postings written: ${state.inserts.length})`));
    expect(postings.settled()).toBeInstanceOf(Promise);
    await postings.settled();
    expect(order).toEqual(['reply (postings written: 0)', 'event (postings written: 0)']);
    expect(state.inserts).toHaveLength(1);
  });

  it('retries a failed write until it lands, and gives up after four attempts', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    const retried = fakeSession(2);
    const postings = new SearchPostings(retried.session);
    postings.write(message(2));
    await flush();
    expect(retried.state.inserts).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(250);
    expect(retried.state.inserts).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(retried.state.inserts).toHaveLength(3);
    await flush();
    expect(postings.lost).toBe(0);

    const failing = fakeSession(10);
    const given = new SearchPostings(failing.session);
    given.write(message(3));
    await flush();
    await jest.advanceTimersByTimeAsync(250 + 1_000 + 5_000);
    await flush();
    expect(failing.state.inserts).toHaveLength(4);
    expect(given.lost).toBe(1);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(failing.state.inserts).toHaveLength(4);
  });

  it('writes nothing while switched off (the bench rounds without the index)', async () => {
    const { session, state } = fakeSession(0);
    const postings = new SearchPostings(session);
    postings.enabled = false;
    postings.write(message(4));
    expect(postings.settled()).toBeUndefined();
    await flush();
    expect(state.inserts).toHaveLength(0);
  });
});
