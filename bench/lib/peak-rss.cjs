// The peak resident memory of a child process (VmHWM from /proc, polled), and the tail of what it printed.
const { readFileSync } = require('node:fs');

/** Watches `child` until it exits: `peakMb()` is its VmHWM so far, `tail()` the last 2,000 characters it wrote. */
function watchPeak(child, intervalMs = 100) {
  let peakKb = 0;
  let out = '';
  const keep = (d) => (out = (out + d).slice(-2000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const poll = setInterval(() => {
    try {
      const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (hwm) peakKb = Math.max(peakKb, Number(hwm[1]));
    } catch {
      // exited between two polls
    }
  }, intervalMs);
  child.once('exit', () => clearInterval(poll));
  return { peakMb: () => Math.round(peakKb / 1024), tail: () => out };
}

module.exports = { watchPeak };
