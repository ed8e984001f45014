import { RequestActivity } from './request-activity';

describe('RequestActivity (jobs give way to requests)', () => {
  it('is busy while a request is in flight, quiet a moment after the last one ended', async () => {
    const activity = new RequestActivity();
    expect(activity.quiet).toBe(true);
    activity.begin();
    activity.begin();
    activity.end();
    expect(activity.quiet).toBe(false);
    activity.end();
    await activity.whenQuiet(10_000);
    expect(activity.quiet).toBe(true);
  });

  it('never holds background work back for longer than asked: it resolves while requests are still in flight', async () => {
    const activity = new RequestActivity();
    activity.begin();
    await activity.whenQuiet(5);
    expect(activity.quiet).toBe(false);
  });

  it('an extra end (a response closed twice) does not make it busy for ever', async () => {
    const activity = new RequestActivity();
    activity.end();
    activity.begin();
    activity.end();
    await activity.whenQuiet(10_000);
    expect(activity.quiet).toBe(true);
  });
});
