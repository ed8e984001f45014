// CPU accounting for the Cassandra figures: how many cores each party (the Cassandra JVM, the Parley process,
// the load generators, everything else on the machine) used during a measured window, read from /proc the way
// top/pidstat do (utime + stime of /proc/<pid>/stat, the busy time of /proc/stat). So a figure that misses its
// target can say what limited it. Linux only; elsewhere every value is null.
'use strict';
const { readFileSync, readdirSync } = require('node:fs');
const { execFileSync } = require('node:child_process');
const { cpus } = require('node:os');

let ticksPerSecond = 100;
try {
  ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // 100 is the value on every Linux build we run on.
}

/** utime + stime and start time (both in clock ticks) of a process, or null when it is gone. */
function procTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
    return { cpu: Number(f[11]) + Number(f[12]), start: Number(f[19]) };
  } catch {
    return null;
  }
}

/** Busy and total ticks of the whole machine (all cores). */
function machineTicks() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const v = line.trim().split(/\s+/).slice(1, 9).map(Number); // user nice system idle iowait irq softirq steal
    const total = v.reduce((a, b) => a + b, 0);
    return { busy: total - v[3] - v[4], total, steal: v[7] };
  } catch {
    return null;
  }
}

function uptimeTicks() {
  try {
    return Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * ticksPerSecond;
  } catch {
    return 0;
  }
}

function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

function ppid(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return -1;
  }
}

function allPids() {
  try {
    return readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number);
  } catch {
    return [];
  }
}

/** Every Cassandra server JVM on the machine (one for the single node, three for the loopback cluster). */
function cassandraPids() {
  return allPids().filter((pid) => cmdline(pid).includes('org.apache.cassandra.service.CassandraDaemon'));
}

/** Children of `parent` whose command line contains `marker` (e.g. the forked load generators). */
function childPids(parent, marker) {
  return allPids().filter((pid) => ppid(pid) === parent && cmdline(pid).includes(marker));
}

/**
 * Starts a measured window. `groups()` names the pids of each party (called at every sample, so processes
 * that start during the window are counted from their start). `stop()` returns cores used per party, the
 * machine's busy cores, and "other": busy time of processes outside the named parties (other work on the
 * machine, the kernel's softirqs). Cores are in units of one fully used core (2.0 = both cores of a 2-core box).
 */
function cpuWindow(groups, { intervalMs = 250 } = {}) {
  const t0 = performance.now();
  const windowStart = uptimeTicks();
  const m0 = machineTicks();
  const first = new Map();
  const last = new Map();
  const groupOf = new Map();
  const sample = () => {
    for (const [name, pids] of Object.entries(groups())) {
      for (const pid of pids) {
        const t = procTicks(pid);
        if (!t) continue;
        if (!first.has(pid)) first.set(pid, t.start >= windowStart ? 0 : t.cpu);
        last.set(pid, t.cpu);
        groupOf.set(pid, name);
      }
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  timer.unref?.();
  return {
    stop() {
      clearInterval(timer);
      sample();
      const seconds = (performance.now() - t0) / 1000;
      const m1 = machineTicks();
      const cores = {};
      for (const name of Object.keys(groups())) cores[name] = 0;
      for (const [pid, name] of groupOf) {
        cores[name] = (cores[name] ?? 0) + (last.get(pid) - first.get(pid)) / ticksPerSecond / seconds;
      }
      const round = (x) => Math.round(x * 100) / 100;
      const out = { seconds: round(seconds), cpus: cpus().length, cores: {} };
      for (const [k, v] of Object.entries(cores)) out.cores[k] = round(v);
      if (m0 && m1) {
        const ncpu = cpus().length;
        const busy = ((m1.busy - m0.busy) / (m1.total - m0.total)) * ncpu;
        out.machine_busy_cores = round(busy);
        out.other_cores = round(Math.max(0, busy - Object.values(cores).reduce((a, b) => a + b, 0)));
        out.steal_cores = round(((m1.steal - m0.steal) / (m1.total - m0.total)) * ncpu);
      }
      return out;
    },
  };
}

/** One line for a figure's note: "cassandra 1.21 + parley 0.62 + loadgen 0.1 + other 0.05 of 2 cores". */
function describeCpu(cpu) {
  if (!cpu) return 'CPU not sampled';
  const parts = Object.entries(cpu.cores).map(([k, v]) => `${k} ${v}`);
  if (cpu.other_cores !== undefined) parts.push(`other processes ${cpu.other_cores}`);
  return `cores used: ${parts.join(' + ')} (machine busy ${cpu.machine_busy_cores ?? '?'} of ${cpu.cpus})`;
}

module.exports = { cpuWindow, cassandraPids, childPids, describeCpu, procTicks };
