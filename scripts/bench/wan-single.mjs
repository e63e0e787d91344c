/**
 * The single cold pull of fleet-wan alone (issue 10), repeated with the peers alternating, so
 * that what one cold pull is made of can be measured without the 13-minute bench:
 *
 *   node scripts/bench/wan-single.mjs [--peers=mirrorgate-cache,mirrorgate-serial,nginx-cache]
 *     [--reps=5] [--client=skopeo|curl] [--layers=96] [--rates=60,40,20] [--rtt=20]
 *     [--parallel=minSize,pieceSize,perMirror] [--cpu-prof=DIR] [--json=FILE] [--no-pin]
 *     [--timeline] [--baseline=DIR] [--shaper-piece=BYTES]
 *
 * Peers: the fleet-wan ones (mirrorgate-cache, nginx, nginx-cache, distribution), plus
 *   mirrorgate-serial  mirrorgate-cache with `cache.parallel: false` (every blob from one mirror)
 *   mirrorgate-base    mirrorgate-cache built from another checkout (`--baseline=DIR`, built there)
 *   ideal              no peer: the client itself fetches every blob in Range parts split by the
 *                      mirrors' speed shares straight from the shaper (curl client only): what
 *                      the shaper, the client core and the mirrors can do together
 *   mirror-direct      no peer: the client straight from the first mirror, unshaped (the client's floor)
 *   shaped-direct      no peer: the client straight from the 60 MiB/s mirror through the shaper
 * Clients: skopeo (`skopeo copy docker://… dir:`, as the bench), or curl (one curl per blob, all
 * at once, to /dev/null: the pull without skopeo's own cost).
 * Every round starts the peer afresh (empty cache) and reports the wall time, the WAN time (round
 * start → last mirror byte delivered by the shaper), each mirror's share of the shaped bytes, the
 * peer's CPU seconds and the 1-min load average at the start of the round. `npm run build` first.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WAN_PEER_CTX, setupWan } from './fleet-wan.mjs';
import { startPeer } from './peers.mjs';
import { CLK_TCK, pinningEnabled, run, setPinning, stopAll, sumCpu } from './procs.mjs';
import { skopeoCopies } from './workloads.mjs';

const MiB = 1024 * 1024;
const { values: flags } = parseArgs({
  options: {
    peers: { type: 'string', default: 'mirrorgate-cache,mirrorgate-serial,nginx-cache' },
    reps: { type: 'string', default: '5' },
    client: { type: 'string', default: 'skopeo' },
    layers: { type: 'string', default: '96' },
    rates: { type: 'string', default: '60,40,20' },
    rtt: { type: 'string', default: '20' },
    parallel: { type: 'string' },
    'cpu-prof': { type: 'string' },
    json: { type: 'string' },
    baseline: { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    'shaper-piece': { type: 'string' },
    timeline: { type: 'boolean', default: false },
  },
});
const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const peerIds = flags.peers.split(',');
const reps = Number(flags.reps);
const log = (m) => process.stderr.write(`${m}\n`);
if (flags['no-pin'] || os.cpus().length < 2) setPinning(false);
const clientCpu = 0;
const peerCpu = 1;

function parallelSetting(id) {
  if (id === 'mirrorgate-serial') return false;
  if (flags.parallel === undefined) return undefined;
  const [minSize, pieceSize, perMirror] = flags.parallel.split(',');
  return Object.fromEntries(Object.entries({ minSize, pieceSize, perMirror }).filter(([, v]) => v !== undefined && v !== ''));
}

/** One curl per blob, all at once, to /dev/null; `parts(blob)` → [{ url, range }] (one part: no range). */
async function curlPull(parts, blobs) {
  const t0 = performance.now();
  const jobs = blobs.flatMap((b) =>
    parts(b).map(({ url, range }) =>
      run('curl', ['curl', '-sS', '-f', '-o', '/dev/null', ...(range ? ['-r', range] : []), '-w', '%{size_download}', url], {
        cpu: pinningEnabled() ? clientCpu : undefined,
        capture: true,
        timeoutMs: 120_000,
      }),
    ),
  );
  const results = await Promise.all(jobs);
  const wall = (performance.now() - t0) / 1000;
  const bad = results.filter((r) => r.code !== 0);
  return { wall, ok: bad.length === 0, bytes: results.reduce((a, r) => a + Number(r.stdout || 0), 0) };
}

/** Range parts of `b` split by the mirrors' speed shares, straight from the shaper ports. */
function idealParts(wan, b, repo) {
  const sum = wan.ratesMiB.reduce((a, r) => a + r, 0);
  const parts = [];
  let at = 0;
  wan.shaperPorts.forEach((port, i) => {
    const n = i === wan.shaperPorts.length - 1 ? b.size - at : Math.round((b.size * wan.ratesMiB[i]) / sum);
    if (n > 0) parts.push({ url: `http://127.0.0.1:${port}/v2/${repo}/blobs/${b.digest}`, range: `${at}-${at + n - 1}` });
    at += n;
  });
  return b.size < 4 * MiB ? [{ url: parts[0].url }] : parts;
}

async function pullOnce(id, wan, env, rep) {
  const runDir = join(env.dir, 'runs', `${id}-${rep}`);
  const ctx = {
    dir: runDir,
    repoRoot,
    upstreamPorts: wan.shaperPorts,
    weights: [3, 2, 1],
    cpu: peerCpu,
    logLevel: 'warn',
    maxConnections: 1024,
    parallel: parallelSetting(id),
    baselineRoot: flags.baseline === undefined ? undefined : resolve(flags.baseline),
    cache: id === 'mirrorgate-base',
    ...WAN_PEER_CTX,
    nodeFlags: flags['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${resolve(flags['cpu-prof'])}`, `--cpu-prof-name=${id}-${rep}.cpuprofile`] : [],
  };
  const direct = { 'mirror-direct': wan.mirrorPorts[0], 'shaped-direct': wan.shaperPorts[0] }[id];
  const peer =
    id === 'ideal'
      ? undefined
      : direct !== undefined
        ? { port: direct, pids: () => [], stop: async () => {} }
        : await startPeer({ 'mirrorgate-serial': 'mirrorgate-cache', 'mirrorgate-base': 'mirrorgate-baseline' }[id] ?? id, ctx);
  const load = os.loadavg()[0];
  const s0 = await wan.stats(true);
  const cpu0 = peer ? sumCpu(peer.pids()) : 0;
  const shaper0 = sumCpu([wan.shaperPid]);
  const wanCpu0 = sumCpu(wan.pids());
  const core0 = busyTicks(clientCpu);
  const logOffset = statSync(wan.accessLog).size;
  const startedAt = Date.now();
  let wall;
  let ok;
  try {
    if (flags.client === 'curl' || id === 'ideal') {
      const base = peer && `http://127.0.0.1:${peer.port}/v2/${wan.tree.repo}/blobs/`;
      const r = await curlPull((b) => (peer ? [{ url: `${base}${b.digest}` }] : idealParts(wan, b, wan.tree.repo)), wan.blobs);
      wall = r.wall;
      ok = r.ok && r.bytes === wan.imageBytes;
    } else {
      const root = join(runDir, 'pull');
      const src = `docker://127.0.0.1:${peer.port}/${wan.tree.repo}:${wan.tree.tag}`;
      const r = await skopeoCopies(env, src, root, 1, () => `dir:${join(root, 'dest')}`, 120_000);
      wall = r.wall;
      ok = r.results[0].code === 0;
      if (!ok) log(r.results[0].stderr);
    }
  } finally {
    const cpuS = peer ? (sumCpu(peer.pids()) - cpu0) / CLK_TCK : 0;
    const core1 = busyTicks(clientCpu);
    env.clientBusy = (core1.busy - core0.busy) / (core1.total - core0.total);
    env.shaperCpuS = (sumCpu([wan.shaperPid]) - shaper0) / CLK_TCK;
    env.mirrorCpuS = (sumCpu(wan.pids()) - wanCpu0) / CLK_TCK - env.shaperCpuS;
    await new Promise((r) => setTimeout(r, 300));
    await peer?.stop();
    rmSync(runDir, { recursive: true, force: true });
    env.lastCpuS = cpuS;
  }
  const s1 = await wan.stats();
  const per = s1.map((m, i) => m.bytesDown - s0[i].bytesDown);
  const lastAt = Math.max(0, ...s1.filter((_, i) => per[i] > 0).map((m) => m.lastDownAt));
  const total = per.reduce((a, n) => a + n, 0);
  const shares = per.map((n) => Math.round((100 * n) / total)).join('/');
  const wanS = (lastAt - startedAt) / 1000;
  // When each mirror's last byte left the shaper: an early end is a mirror that sat idle at the tail.
  const ends = s1.map((m, i) => (per[i] > 0 ? ((m.lastDownAt - startedAt) / 1000).toFixed(2) : '-')).join('/');
  const lagMs = Math.max(...s1.map((m) => m.maxLagMs));
  if (flags.timeline) log(timeline(wan, logOffset, startedAt));
  return {
    id,
    rep,
    wall,
    wanS,
    wanTmin: wanS / wan.tminS,
    shares,
    ends,
    shapedX: total / wan.imageBytes,
    cpuS: env.lastCpuS,
    load,
    ok,
    lagMs,
    clientBusy: env.clientBusy,
    shaperCpuS: env.shaperCpuS,
    mirrorCpuS: env.mirrorCpuS,
  };
}

/** The mirrors' blob responses of the round: mirror, range, MiB, start → end (s from the round's start). */
function timeline(wan, offset, startedAt) {
  const lines = readFileSync(wan.accessLog).subarray(offset).toString().split('\n');
  const rows = [];
  for (const line of lines) {
    const [port, , uri, status, sent, msec, rt, range] = line.split(' ');
    if (!uri?.includes('/v2/')) continue;
    const end = Number(msec) * 1000 - startedAt;
    const mirror = wan.mirrorPorts.indexOf(Number(port));
    rows.push({ mirror, range: range ?? '-', mib: Number(sent) / MiB, t0: (end - Number(rt) * 1000) / 1000, t1: end / 1000, status });
  }
  rows.sort((a, b) => a.t0 - b.t0);
  return rows
    .map(
      (r) =>
        `    m${r.mirror + 1} (${wan.ratesMiB[r.mirror]} MiB/s) ${r.status} ${r.range.padEnd(24)} ${r.mib.toFixed(1).padStart(5)} MiB  ${r.t0.toFixed(2)} → ${r.t1.toFixed(2)} s (${(r.mib / (r.t1 - r.t0)).toFixed(0)} MiB/s)`,
    )
    .join('\n');
}

/** Busy (all but idle and iowait) and all ticks of one CPU from /proc/stat. */
function busyTicks(cpu) {
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`cpu${cpu} `));
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - f[4], total };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const spread = (xs) => (Math.max(...xs) - Math.min(...xs)) / (2 * median(xs));

function summary(rows, wan) {
  const out = [];
  out.push(`| peer | n | wall s (median ±spread) | WAN s | WAN ÷ T_min [min–max] | shares % (last) | shaped ÷ image | peer CPU s | shaper late ms | load |`);
  out.push('|---|---:|---:|---:|---:|---|---:|---:|---:|---:|');
  for (const id of peerIds) {
    const r = rows.filter((x) => x.id === id && x.ok);
    if (r.length === 0) continue;
    const w = r.map((x) => x.wall);
    const t = r.map((x) => x.wanTmin);
    out.push(
      `| ${id} | ${r.length} | ${median(w).toFixed(2)} ±${(100 * spread(w)).toFixed(0)}% | ${median(r.map((x) => x.wanS)).toFixed(2)} | ${median(t).toFixed(2)}× [${Math.min(...t).toFixed(2)}–${Math.max(...t).toFixed(2)}] | ${r.at(-1).shares} | ${median(r.map((x) => x.shapedX)).toFixed(2)} | ${median(r.map((x) => x.cpuS)).toFixed(2)} | ${median(r.map((x) => x.lagMs)).toFixed(0)} | ${Math.min(...r.map((x) => x.load)).toFixed(1)}–${Math.max(...r.map((x) => x.load)).toFixed(1)} |`,
    );
  }
  out.push(`T_min ${wan.tminS.toFixed(2)} s (${(wan.imageBytes / MiB).toFixed(1)} MiB at ${wan.ratesMiB.join('+')} MiB/s)`);
  return out.join('\n');
}

async function main() {
  const dir = mkdtempSync(join(os.tmpdir(), 'mirrorgate-wan-single-'));
  const env = { dir, repoRoot, clientCpu, log, opts: {} };
  if (pinningEnabled()) execFileSync('taskset', ['-pc', String(clientCpu), String(process.pid)], { stdio: 'ignore' });
  const wan = await setupWan(env, {
    ratesMiB: flags.rates.split(',').map(Number),
    rttMs: Number(flags.rtt),
    layerMiB: flags.layers.split(',').map(Number),
    pieceBytes: flags['shaper-piece'] === undefined ? undefined : Number(flags['shaper-piece']),
  });
  log(
    `image ${(wan.imageBytes / MiB).toFixed(1)} MiB, blobs ${wan.blobs.map((b) => (b.size / MiB).toFixed(1)).join('/')} MiB, T_min ${wan.tminS.toFixed(2)} s`,
  );
  const rows = [];
  try {
    for (let rep = 0; rep < reps; rep += 1) {
      for (let i = 0; i < peerIds.length; i += 1) {
        const id = peerIds[(i + rep) % peerIds.length];
        const r = await pullOnce(id, wan, env, rep);
        rows.push(r);
        log(
          `[${rep + 1}/${reps}] ${id.padEnd(18)} wall ${r.wall.toFixed(2)} s, WAN ${r.wanS.toFixed(2)} s (${r.wanTmin.toFixed(2)}× T_min), shares ${r.shares} %, mirrors' last byte ${r.ends} s, shaped ${r.shapedX.toFixed(2)}×, CPU ${r.cpuS.toFixed(2)} s, client core ${(100 * r.clientBusy).toFixed(0)}% busy (shaper ${r.shaperCpuS.toFixed(2)} s, mirrors ${r.mirrorCpuS.toFixed(2)} s, shaper late ≤ ${r.lagMs.toFixed(0)} ms), load ${r.load.toFixed(1)}${r.ok ? '' : ' FAILED'}`,
        );
      }
    }
  } finally {
    await wan.stop();
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`${summary(rows, wan)}\n`);
  if (flags.json) writeFileSync(flags.json, JSON.stringify({ flags, tminS: wan.tminS, rows }, null, 2));
}

main().catch(async (err) => {
  log(err.stack ?? String(err));
  await stopAll();
  process.exit(1);
});
