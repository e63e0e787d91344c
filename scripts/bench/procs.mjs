/**
 * Child processes and /proc readings for the bench harness.
 *
 * Every process the harness starts goes through `start()`, which records its pid; `stopAll()`
 * (called on normal exit, on error and on SIGINT/SIGTERM) stops each one by pid: SIGTERM, then
 * SIGKILL after a grace period, plus any children (nginx workers) found under it beforehand.
 * A last-resort `process.on('exit')` hook SIGKILLs whatever is still recorded.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';

/** pid -> { name, child, exited } for everything still running. */
const live = new Map();

let pinning = true;
export function setPinning(on) {
  pinning = on;
}
export function pinningEnabled() {
  return pinning;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts `argv` (optionally pinned to `cpu` with taskset, which execs: the pid is the program's).
 * opts: { cpu, env, cwd, log: FILE (stdout+stderr appended there), capture: true (collect
 * stdout/stderr as strings), stdin: 'pipe'|'ignore', timeoutMs (SIGTERM then SIGKILL) }.
 */
export function start(name, argv, opts = {}) {
  const full = pinning && opts.cpu !== undefined ? ['taskset', '-c', String(opts.cpu), ...argv] : argv;
  let out = 'ignore';
  let fd;
  if (opts.log) {
    fd = openSync(opts.log, 'a');
    out = fd;
  } else if (opts.capture) {
    out = 'pipe';
  }
  const child = spawn(full[0], full.slice(1), {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    stdio: [opts.stdin ?? 'ignore', out, out],
  });
  if (fd !== undefined) closeSync(fd);
  const proc = { name, child, pid: child.pid, stdout: '', stderr: '', log: opts.log };
  if (opts.capture) {
    const limit = 4 * 1024 * 1024;
    child.stdout.on('data', (c) => {
      if (proc.stdout.length < limit) proc.stdout += c;
    });
    child.stderr.on('data', (c) => {
      if (proc.stderr.length < limit) proc.stderr += c;
    });
  }
  proc.exited = new Promise((resolve) => {
    child.once('error', (err) => {
      live.delete(proc.pid);
      resolve({ code: null, signal: null, error: err });
    });
    child.once('close', (code, signal) => {
      live.delete(proc.pid);
      resolve({ code, signal });
    });
  });
  if (proc.pid !== undefined) live.set(proc.pid, proc);
  if (opts.timeoutMs !== undefined) {
    const timer = setTimeout(() => {
      proc.timedOut = true;
      void stop(proc, 2000);
    }, opts.timeoutMs);
    proc.exited.then(() => clearTimeout(timer));
  }
  return proc;
}

/** Runs to completion (bounded by timeoutMs) and returns { code, signal, stdout, stderr, timedOut, ms }. */
export async function run(name, argv, opts = {}) {
  const t0 = performance.now();
  const proc = start(name, argv, { ...opts, capture: true, timeoutMs: opts.timeoutMs ?? 120_000 });
  const res = await proc.exited;
  return { ...res, stdout: proc.stdout, stderr: proc.stderr, timedOut: proc.timedOut === true, ms: performance.now() - t0 };
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function childPids(pid) {
  const out = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text !== '') out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // gone
  }
  return out;
}

/** Stops one started process by pid (and its direct children by pid): TERM, then KILL after graceMs. */
export async function stop(proc, graceMs = 3000) {
  if (!live.has(proc.pid)) return;
  const kids = childPids(proc.pid);
  try {
    process.kill(proc.pid, 'SIGTERM');
  } catch {
    // already gone
  }
  const done = await Promise.race([proc.exited.then(() => true), sleep(graceMs).then(() => false)]);
  if (!done) {
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {
      // gone
    }
    await Promise.race([proc.exited, sleep(2000)]);
  }
  for (const kid of kids) {
    if (alive(kid)) {
      try {
        process.kill(kid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

export async function stopAll() {
  const procs = [...live.values()].reverse();
  await Promise.all(procs.map((p) => stop(p, 3000)));
}

process.on('exit', () => {
  for (const proc of live.values()) {
    for (const kid of childPids(proc.pid)) {
      try {
        process.kill(kid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** One bounded HTTP request; resolves { status, headers, body: Buffer }. */
export function httpRequest(url, { method = 'GET', headers = {}, timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms: ${method} ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

/** Polls `url` until it answers with any status below 500, or throws after timeoutMs. */
export async function waitHttp(url, proc, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    if (proc && !live.has(proc.pid)) throw new Error(`${proc.name} exited during startup${logTail(proc)}`);
    try {
      const res = await httpRequest(url, { timeoutMs: 1000 });
      if (res.status < 500) return;
      last = new Error(`status ${res.status}`);
    } catch (err) {
      last = err;
    }
    await sleep(100);
  }
  throw new Error(`${url} not answering after ${timeoutMs} ms: ${last?.message}${logTail(proc)}`);
}

function logTail(proc) {
  if (!proc?.log) return '';
  try {
    return `:\n${readFileSync(proc.log, 'utf8').trim().split('\n').slice(-10).join('\n')}`;
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------------
// /proc
// ---------------------------------------------------------------------------------------------

/** VmRSS in KiB (0 if gone). */
export function rssKiB(pid) {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export const CLK_TCK = 100; // checked at startup against `getconf CLK_TCK`

/** utime+stime of the process (all its threads), in clock ticks. */
export function cpuTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime is field 14, stime field 15.
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** Read and write syscalls the process has made so far (/proc/PID/io syscr + syscw; 0 if gone). */
export function ioSyscalls(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/io`, 'utf8');
    return Number(/^syscr: (\d+)/m.exec(text)?.[1] ?? 0) + Number(/^syscw: (\d+)/m.exec(text)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

export const sumRss = (pids) => pids.reduce((a, p) => a + rssKiB(p), 0);
export const sumSyscalls = (pids) => pids.reduce((a, p) => a + ioSyscalls(p), 0);
export const sumCpu = (pids) => pids.reduce((a, p) => a + cpuTicks(p), 0);

const TCP_STATES = {
  '01': 'ESTABLISHED',
  '02': 'SYN_SENT',
  '03': 'SYN_RECV',
  '04': 'FIN_WAIT1',
  '05': 'FIN_WAIT2',
  '06': 'TIME_WAIT',
  '07': 'CLOSE',
  '08': 'CLOSE_WAIT',
  '09': 'LAST_ACK',
  '0A': 'LISTEN',
  '0B': 'CLOSING',
};

function tcpTable() {
  const rows = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      rows.push({
        localPort: parseInt(f[1].split(':')[1], 16),
        remotePort: parseInt(f[2].split(':')[1], 16),
        state: TCP_STATES[f[3]] ?? f[3],
        inode: f[9],
      });
    }
  }
  return rows;
}

function socketInodes(pid) {
  const out = new Set();
  let fds;
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/**
 * The TCP connections that `pids` hold towards any of `ports` (the upstreams), by state.
 * Attribution is by socket inode, so other processes' connections to the same ports don't count.
 */
export function upstreamConnections(pids, ports) {
  const inodes = new Set();
  for (const pid of pids) for (const i of socketInodes(pid)) inodes.add(i);
  const portSet = new Set(ports);
  const byState = {};
  let total = 0;
  for (const row of tcpTable()) {
    if (!portSet.has(row.remotePort) || !inodes.has(row.inode)) continue;
    byState[row.state] = (byState[row.state] ?? 0) + 1;
    total += 1;
  }
  return { total, established: byState.ESTABLISHED ?? 0, byState };
}

/** user+nice ticks of one CPU from /proc/stat, and all its ticks (busy + idle). */
export function cpuLineTicks(cpu) {
  try {
    const line = readFileSync('/proc/stat', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`cpu${cpu} `));
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    return { user: f[0] + f[1], total: f.slice(0, 8).reduce((a, b) => a + b, 0) };
  } catch {
    return { user: NaN, total: NaN };
  }
}

/** peer user ticks (utime only) of the process, for the foreign-load estimate. */
export function userTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[11]);
  } catch {
    return 0;
  }
}
