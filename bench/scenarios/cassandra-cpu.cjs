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

/** Microseconds during which some runnable task waited for a CPU (Linux PSI), or null without PSI. */
function cpuStallMicros() {
  try {
    const some = readFileSync('/proc/pressure/cpu', 'utf8').split('\n')[0];
    return Number(/total=(\d+)/.exec(some)[1]);
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

/** Every process below `root` (children, grandchildren ...). */
function descendantPids(root) {
  const children = new Map();
  for (const pid of allPids()) {
    const parent = ppid(pid);
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(pid);
  }
  const out = [];
  const walk = (pid) => {
    for (const child of children.get(pid) ?? []) {
      out.push(child);
      walk(child);
    }
  };
  walk(root);
  return out;
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
  const stall0 = cpuStallMicros();
  const wall0 = Date.now();
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
      const stall1 = cpuStallMicros();
      if (stall0 !== null && stall1 !== null)
        // Share of the window in which at least one runnable task waited for a core (PSI "some").
        out.cpu_pressure_pct = Math.round((stall1 - stall0) / 10 / (seconds * 1000));
      try {
        out.loadavg_1m = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
      } catch {
        // not Linux
      }
      out.gc = gcPauses(wall0, Date.now());
      return out;
    },
  };
}

/**
 * Long GC pauses of the Cassandra JVMs between two times, from their system.log (GCInspector logs every pause
 * over 200 ms). The log's timestamps are in the machine's local time, as Date parses them here.
 */
function gcPauses(fromMs, toMs) {
  let count = 0;
  let max = 0;
  let total = 0;
  for (const pid of cassandraPids()) {
    const dir = /-Dcassandra\.logdir=(\S+)/.exec(cmdline(pid))?.[1];
    if (!dir) continue;
    let text;
    try {
      text = readFileSync(`${dir}/system.log`, 'utf8').slice(-4_000_000);
    } catch {
      continue;
    }
    for (const m of text.matchAll(
      /(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d),(\d{3}) GCInspector\.java:\d+ - .*? GC in (\d+)ms/g,
    )) {
      const at = new Date(`${m[1]}T${m[2]}.${m[3]}`).getTime();
      if (at < fromMs || at > toMs + 1000) continue;
      const ms = Number(m[4]);
      count++;
      total += ms;
      max = Math.max(max, ms);
    }
  }
  return { pauses_over_200ms: count, max_ms: max, total_ms: total };
}

/** One line for a figure's note: "cassandra 1.21 + parley 0.62 + loadgen 0.1 + other 0.05 of 2 cores". */
function describeCpu(cpu) {
  if (!cpu) return 'CPU not sampled';
  const parts = Object.entries(cpu.cores).map(([k, v]) => `${k} ${v}`);
  if (cpu.other_cores !== undefined) parts.push(`other processes ${cpu.other_cores}`);
  let text = `cores used: ${parts.join(' + ')} (machine busy ${cpu.machine_busy_cores ?? '?'} of ${cpu.cpus}`;
  if (cpu.cpu_pressure_pct !== undefined)
    text += `, runnable tasks waiting for a core ${cpu.cpu_pressure_pct}% of the time`;
  text += ')';
  if (cpu.gc?.pauses_over_200ms)
    text += `; Cassandra GC pauses over 200 ms: ${cpu.gc.pauses_over_200ms} (max ${cpu.gc.max_ms} ms)`;
  return text;
}

module.exports = { cpuWindow, cassandraPids, childPids, descendantPids, describeCpu, procTicks };
