import { snowflakeAt } from '@parley/common';
import { MESSAGE_JOB_WAIT_MS, MessageNotYetStored, messageJobReady } from './jobs';

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
});
