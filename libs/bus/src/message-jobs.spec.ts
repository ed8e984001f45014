import { snowflakeAt } from '@parley/common';
import { MESSAGE_JOB_WAIT_MS, MessageNotYetStored, messageJobReady, retryDelayMs } from './jobs';

describe('messageJobReady (a job that follows a message)', () => {
  const now = Date.now();
  const young = snowflakeAt(now - 1_000);
  const old = snowflakeAt(now - MESSAGE_JOB_WAIT_MS - 1_000);

  it('runs when the message is there', () => {
    expect(messageJobReady(true, young, now)).toBe(true);
    expect(messageJobReady(true, old, now)).toBe(true);
  });

  it('retries while a missing message may still be being written', () => {
    expect(() => messageJobReady(false, young, now)).toThrow(MessageNotYetStored);
  });

  it('does nothing for a message gone for good (deleted, or its write failed)', () => {
    expect(messageJobReady(false, old, now)).toBe(false);
  });

  it('retries a job waiting for its message soon, other failures with the usual backoff', () => {
    const waiting = new MessageNotYetStored('1');
    expect([1, 2, 3, 8].map((n) => retryDelayMs(waiting, n))).toEqual([100, 200, 400, 5_000]);
    expect([1, 2, 3, 20].map((n) => retryDelayMs(new Error('x'), n))).toEqual([1_000, 2_000, 4_000, 300_000]);
  });
});
