import { duration, ProgressDisplay } from './progress';

function capture(tty: boolean) {
  let text = '';
  let now = 0;
  const display = new ProgressDisplay(
    { write: (s: string) => (text += s), isTTY: tty, columns: 200 },
    { intervalMs: 1000, now: () => now },
  );
  return { display, text: () => text, at: (ms: number) => (now = ms) };
}

describe('ProgressDisplay', () => {
  it('logs a plain line per interval with rows/s and the ETA when not on a terminal', () => {
    const p = capture(false);
    p.display.start('messages', 10_000, 0);
    p.at(500);
    p.display.advance('messages', 1000);
    p.at(1000);
    p.display.advance('messages', 1000);
    p.at(2000);
    p.display.advance('messages', 2000);
    p.display.finish('messages', 10_000, 4);
    expect(p.text().split('\n')).toEqual([
      'messages: copying 10,000 rows',
      'messages: 2,000/10,000 rows (20%), 2,000 rows/s, ETA 0:04',
      'messages: 4,000/10,000 rows (40%), 2,000 rows/s, ETA 0:03',
      'messages: 10,000 rows copied in 4.0 s (2,500 rows/s)',
      '',
    ]);
  });

  it('redraws one bar in place on a terminal, and says when it resumes', () => {
    const p = capture(true);
    p.display.start('users', 100, 40);
    p.at(300);
    p.display.advance('users', 10);
    expect(p.text()).toContain('users: resuming after 40 rows (checkpoint)\n');
    expect(p.text()).toContain('\r\u001b[K[############------------] users: 50/100 rows (50%)');
  });

  it('formats durations', () => {
    expect([duration(5), duration(65), duration(3725), duration(Infinity)]).toEqual([
      '0:05',
      '1:05',
      '1:02:05',
      '?',
    ]);
  });
});
