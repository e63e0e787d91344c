/**
 * adaptive-balance (issue 10 §2): what `balance: { mode: adaptive }` buys over `static` when the
 * mirrors differ in speed and are configured alike.
 *
 * Three mirrors behind the fleet-wan WAN (one nginx on three ports, wan-shaper.mjs in front at
 * 60/40/20 MiB/s, 20 ms RTT: fleet-wan.mjs's setupWan), all with weight 1, and mirrorgate in front
 * as a relay (no cache: every pull goes to a mirror, so the same 40 blobs serve every run and
 * every pull is a balancing decision; `cache.parallel` does not come into it). The fixture's
 * image has 40 gzip layers of 4 MiB random data: 40 distinct blobs of ~4 MiB.
 *
 * Per run (mirrorgate started afresh: the adaptive one learns from nothing, as after a deploy):
 *   serial      the 40 blobs one after another, one client connection: each pull's time and,
 *               from the shaper's byte counters around it, the mirror that served it
 *   concurrent  right after, in the same process: 4 streams pulling the 40 blobs twice (80 pulls)
 *   slowdown    another fresh mirrorgate: 30 serial pulls, then the fastest mirror drops from 60
 *               to 10 MiB/s (the shaper's POST /rate) and 40 more serial pulls, with the
 *               effective weights read from /metrics after every pull
 * The modes alternate (static first in odd repetitions, adaptive first in even ones).
 *
 * usage: npm run build && nice -n 5 node scripts/bench/adaptive-balance.mjs [--reps 3]
 *          [--out scripts/bench/results-adaptive.md] [--json FILE] [--keep]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { mirrorgateYaml } from './cache-peers.mjs';
import { setupWan } from './fleet-wan.mjs';
import { CLK_TCK, childPids, cpuTicks, freePort, httpRequest, pinningEnabled, start, stop, stopAll, waitHttp } from './procs.mjs';

const MiB = 1024 * 1024;
const { values: opts } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    out: { type: 'string', default: 'scripts/bench/results-adaptive.md' },
    json: { type: 'string' },
    keep: { type: 'boolean' },
    blobs: { type: 'string', default: '40' },
    'blob-mib': { type: 'string', default: '4' },
    'warm-pulls': { type: 'string', default: '30' },
    'after-pulls': { type: 'string', default: '40' },
    'drop-mib': { type: 'string', default: '10' },
    rates: { type: 'string' },
  },
});
const reps = Number(opts.reps);
const RATES = (opts.rates ?? '60,40,20').split(',').map(Number);
const RTT = 20;
const NAMES = RATES.map((r) => `m${r}`);
const STREAMS = 4;
const PASSES = 2;
const DROP = Number(opts['drop-mib']);
const WARM = Number(opts['warm-pulls']);
const AFTER = Number(opts['after-pulls']);

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'mirrorgate-bench-adaptive-'));
const multiCore = cpus().length >= 2;
const env = { dir, repoRoot, clientCpu: multiCore ? 0 : undefined, log: (l) => process.stderr.write(`${l}\n`) };
const gatewayCpu = multiCore ? 1 : undefined;
const log = env.log;
const uptime = () => execFileSync('uptime', { encoding: 'utf8' }).trim();

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** GET one blob through the gateway, body read and counted: { ms, bytes, status }. */
function pull(port, path) {
  return new Promise((resolvePull, reject) => {
    const t0 = performance.now();
    const req = http.get({ host: '127.0.0.1', port, path, agent, timeout: 60_000 }, (res) => {
      let bytes = 0;
      res.on('data', (c) => {
        bytes += c.length;
      });
      res.on('end', () => resolvePull({ ms: performance.now() - t0, bytes, status: res.statusCode }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${path}`)));
    req.on('error', reject);
  });
}

async function startGateway(wan, mode, label) {
  const gdir = join(dir, 'gw', label);
  mkdirSync(gdir, { recursive: true });
  const port = await freePort();
  const ups = wan.shaperPorts.map((p, i) => ({ name: NAMES[i], port: p, weight: 1 }));
  const yaml = `${mirrorgateYaml({ port, ups, maxConnections: 64, logLevel: 'warn' })}balance:\n  mode: ${mode}\n`;
  const file = join(gdir, 'mirrorgate.yaml');
  writeFileSync(file, yaml);
  const proc = start(`mirrorgate-${label}`, [process.execPath, join(repoRoot, 'dist', 'cli.js'), 'serve', '-c', file, '--no-watch'], {
    cpu: gatewayCpu,
    cwd: repoRoot,
    log: join(gdir, 'output.log'),
  });
  await waitHttp(`http://127.0.0.1:${port}/v2/`, proc);
  return { port, proc, log: join(gdir, 'output.log'), stop: () => stop(proc) };
}

/** Per mirror, from mirrorgate's /metrics: effective weight, measured throughput (MiB/s) and latency (ms). */
async function gauges(port) {
  const text = (await httpRequest(`http://127.0.0.1:${port}/metrics`)).body.toString();
  const read = (family, scale) => {
    const v = {};
    for (const m of text.matchAll(new RegExp(`^${family}\\{[^}]*upstream="([^"]+)"[^}]*\\} ([0-9.eE+-]+)$`, 'gm'))) v[m[1]] = Number(m[2]) * scale;
    return NAMES.map((n) => v[n] ?? NaN);
  };
  return {
    w: read('mirrorgate_upstream_effective_weight', 1),
    tput: read('mirrorgate_upstream_measured_throughput_bytes_per_second', 1 / MiB),
    lat: read('mirrorgate_upstream_measured_latency_seconds', 1000),
  };
}
const _effectiveWeights = async (port) => (await gauges(port)).w;

const bytesDown = async (wan) => (await wan.stats()).map((m) => m.bytesDown);
const diff = (a, b) => a.map((x, i) => x - b[i]);

/** Serial pulls of `paths`; per pull its time and the mirror whose shaper carried (most of) its bytes. */
async function serialPulls(gw, wan, paths, { weights = false, onPull } = {}) {
  const pulls = [];
  for (const [i, path] of paths.entries()) {
    if (onPull) await onPull(i);
    const before = await bytesDown(wan);
    const at = performance.now();
    const r = await pull(gw.port, path);
    const d = diff(await bytesDown(wan), before);
    const mirror = d.indexOf(Math.max(...d));
    if (r.status !== 200 || r.bytes !== wan.sizeOf.get(path)) throw new Error(`pull ${path}: status ${r.status}, ${r.bytes} bytes`);
    const g = weights ? await gauges(gw.port) : undefined;
    pulls.push({ at, ms: r.ms, mirror, bytes: d, w: g?.w, tput: g?.tput });
  }
  return pulls;
}

async function concurrentPulls(gw, wan, paths) {
  const queue = [];
  for (let p = 0; p < PASSES; p++) queue.push(...paths);
  const before = await bytesDown(wan);
  const t0 = performance.now();
  let bad = 0;
  await Promise.all(
    Array.from({ length: STREAMS }, async () => {
      while (queue.length > 0) {
        const path = queue.shift();
        const r = await pull(gw.port, path);
        if (r.status !== 200 || r.bytes !== wan.sizeOf.get(path)) bad += 1;
      }
    }),
  );
  const wallS = (performance.now() - t0) / 1000;
  if (bad > 0) throw new Error(`${bad} concurrent pulls failed`);
  return { wallS, bytes: diff(await bytesDown(wan), before) };
}

const cpuS = (gw) => cpuTicks(gw.proc.pid) / CLK_TCK;

/** One main run: fresh gateway, serial then concurrent. */
async function mainRun(wan, mode, rep) {
  const gw = await startGateway(wan, mode, `${mode}-${rep}`);
  try {
    const c0 = cpuS(gw);
    const t0 = performance.now();
    const serial = await serialPulls(gw, wan, wan.paths);
    const serialElapsed = (performance.now() - t0) / 1000;
    const c1 = cpuS(gw);
    const conc = await concurrentPulls(gw, wan, wan.paths);
    const c2 = cpuS(gw);
    const g = await gauges(gw.port);
    const w = g.w;
    const serialS = serial.reduce((a, p) => a + p.ms, 0) / 1000;
    const counts = NAMES.map((_, i) => serial.filter((p) => p.mirror === i).length);
    const serialBytes = NAMES.map((_, i) => serial.reduce((a, p) => a + p.bytes[i], 0));
    const half = serial.length / 2;
    return {
      mode,
      rep,
      serialS,
      serialElapsed,
      serialFirstHalfS: serial.slice(0, half).reduce((a, p) => a + p.ms, 0) / 1000,
      serialSecondHalfS: serial.slice(half).reduce((a, p) => a + p.ms, 0) / 1000,
      serialCounts: counts,
      serialSecondHalfCounts: NAMES.map((_, i) => serial.slice(half).filter((p) => p.mirror === i).length),
      serialBytes,
      serialSeq: serial.map((p) => p.mirror).join(''),
      serialMs: serial.map((p) => Math.round(p.ms)),
      serialCpuPct: (100 * (c1 - c0)) / serialElapsed,
      concS: conc.wallS,
      concBytes: conc.bytes,
      concCpuPct: (100 * (c2 - c1)) / conc.wallS,
      weightsAfter: w,
      tputAfter: g.tput,
      latAfter: g.lat,
      pullMsByMirror: NAMES.map((_, i) => median(serial.filter((p) => p.mirror === i).map((p) => p.ms))),
      problems: logProblems(gw.log),
    };
  } finally {
    await gw.stop();
  }
}

/** The slowdown run: fresh gateway, WARM serial pulls, m60 → DROP MiB/s, AFTER more; then m60 back to 60. */
async function slowdownRun(wan, mode, rep) {
  const gw = await startGateway(wan, mode, `slow-${mode}-${rep}`);
  const paths = [];
  for (let i = 0; paths.length < WARM + AFTER; i++) paths.push(wan.paths[i % wan.paths.length]);
  let dropAt;
  try {
    const pulls = await serialPulls(gw, wan, paths, {
      weights: true,
      onPull: async (i) => {
        if (i !== WARM) return;
        await wan.setRate(0, DROP * MiB);
        dropAt = performance.now();
      },
    });
    const before = pulls.slice(0, WARM);
    const after = pulls.slice(WARM);
    // Demoted: the first pull after the drop whose weights rank m60 below m40 (no longer the top), below m20 (last, as it now is).
    const firstBelow = (j) => {
      const k = after.findIndex((p) => p.w[0] < p.w[j]);
      return k < 0 ? { pulls: NaN, s: NaN } : { pulls: k + 1, s: (after[k].at + after[k].ms - dropAt) / 1000 };
    };
    const windows = [];
    for (let k = 0; k < after.length; k += 10) {
      const win = after.slice(k, k + 10);
      windows.push({ m60: win.filter((p) => p.mirror === 0).length, n: win.length, meanMs: win.reduce((a, p) => a + p.ms, 0) / win.length });
    }
    return {
      mode,
      rep,
      beforeMeanMs: before.reduce((a, p) => a + p.ms, 0) / before.length,
      afterS: after.reduce((a, p) => a + p.ms, 0) / 1000,
      afterMeanMs: after.reduce((a, p) => a + p.ms, 0) / after.length,
      afterCounts: NAMES.map((_, i) => after.filter((p) => p.mirror === i).length),
      belowTop: firstBelow(1),
      belowLast: firstBelow(2),
      windows,
      seq: `${before.map((p) => p.mirror).join('')}|${after.map((p) => p.mirror).join('')}`,
      trace: after.map((p) => ({
        t: +((p.at + p.ms - dropAt) / 1000).toFixed(2),
        m: p.mirror,
        ms: Math.round(p.ms),
        w: p.w.map((x) => +x.toFixed(3)),
        tput: p.tput.map((x) => +x.toFixed(1)),
      })),
      warmWeights: before.at(-1).w,
      warmTput: before.at(-1).tput,
      endTput: after.at(-1).tput,
      endWeights: after.at(-1).w,
      problems: logProblems(gw.log),
    };
  } finally {
    await wan.setRate(0, RATES[0] * MiB);
    await gw.stop();
  }
}

function logProblems(file) {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => /"level":(40|50|60)/.test(l)).length;
  } catch {
    return 0;
  }
}

// ---------------------------------------------------------------------------------------------

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const spread = (xs) => (Math.max(...xs) - Math.min(...xs)) / (2 * median(xs));
const fmt = (xs, d = 2) => `${median(xs).toFixed(d)} ±${(100 * spread(xs)).toFixed(0)} %`;
const shares = (v) => {
  const t = v.reduce((a, x) => a + x, 0);
  return v.map((x) => (t > 0 ? (100 * x) / t : 0));
};
const shareStr = (vs) => {
  // median share per mirror over the runs, "50/33/17"
  const per = vs.map(shares);
  return NAMES.map((_, i) => median(per.map((s) => s[i])).toFixed(0)).join('/');
};

function report(meta, main, slow) {
  const by = (mode) => main.filter((r) => r.mode === mode);
  const S = by('static');
  const A = by('adaptive');
  const paired = (f) => A.map((a) => f(a) / f(S.find((s) => s.rep === a.rep)));
  const lines = [];
  lines.push('# adaptive-balance (issue 10 §2): `balance.mode` static vs adaptive, equal weights, shaped mirrors', '');
  lines.push(`Run ${meta.started} → ${meta.ended}; command: \`${meta.command}\`.`, '');
  lines.push(
    `Setup: one nginx serving the fixture on three ports behind \`wan-shaper.mjs\` at ${RATES.join('/')} MiB/s, ${RTT} ms RTT (fleet-wan's \`setupWan\`); ` +
      `mirrorgate (relay, no cache, \`verifyDigests\` on, \`log.level: warn\`) in front with the three as upstreams \`${NAMES.join('`, `')}\`, weight 1 each, ` +
      `started afresh for every run${meta.pinned ? ' and pinned to CPU 1 (client, shaper and mirrors on CPU 0)' : ''}. ` +
      `Blobs: ${meta.blobs} distinct gzip layers of ${meta.blobMiB} MiB random data (${(meta.blobBytes / MiB).toFixed(2)} MiB each). ` +
      `Client: node:http in the harness, keep-alive. ${reps} repetitions, modes alternating (static first in odd ones).`,
    '',
  );
  lines.push(`Machine load (\`uptime\`): before \`${meta.uptimeBefore}\`; after \`${meta.uptimeAfter}\` (${meta.cores} cores, shared).`, '');
  lines.push(
    `Calibration, straight from the shaper (no gateway), 5 serial pulls per mirror: median ${meta.directMs.map((x) => x.toFixed(0)).join('/')} ms per blob ` +
      `(${meta.directMs.map((x) => (meta.blobBytes / MiB / (x / 1000)).toFixed(1)).join('/')} MiB/s incl. one RTT; link time alone ${RATES.map((r) => ((meta.blobBytes / (r * MiB)) * 1000).toFixed(0)).join('/')} ms).`,
    '',
  );
  lines.push('## Main runs', '');
  lines.push(
    '| | static | adaptive | adaptive ÷ static (paired per repetition) |',
    '|---|---|---|---|',
    `| serial: ${meta.blobs} pulls, sum of pull times (s) | ${fmt(S.map((r) => r.serialS))} | ${fmt(A.map((r) => r.serialS))} | ${fmt(
      paired((r) => r.serialS),
      3,
    )} |`,
    `| serial: first ${meta.blobs / 2} pulls (s) | ${fmt(S.map((r) => r.serialFirstHalfS))} | ${fmt(A.map((r) => r.serialFirstHalfS))} | ${fmt(
      paired((r) => r.serialFirstHalfS),
      3,
    )} |`,
    `| serial: last ${meta.blobs / 2} pulls (s) | ${fmt(S.map((r) => r.serialSecondHalfS))} | ${fmt(A.map((r) => r.serialSecondHalfS))} | ${fmt(
      paired((r) => r.serialSecondHalfS),
      3,
    )} |`,
    `| serial: pulls per mirror ${NAMES.join('/')} (median share %) | ${shareStr(S.map((r) => r.serialCounts))} | ${shareStr(A.map((r) => r.serialCounts))} | |`,
    `| serial: last ${meta.blobs / 2} pulls per mirror (median share %) | ${shareStr(S.map((r) => r.serialSecondHalfCounts))} | ${shareStr(A.map((r) => r.serialSecondHalfCounts))} | |`,
    `| serial: shaper bytes per mirror (median share %) | ${shareStr(S.map((r) => r.serialBytes))} | ${shareStr(A.map((r) => r.serialBytes))} | |`,
    `| concurrent: ${STREAMS} streams × ${(PASSES * meta.blobs) / STREAMS} pulls, wall (s) | ${fmt(S.map((r) => r.concS))} | ${fmt(A.map((r) => r.concS))} | ${fmt(
      paired((r) => r.concS),
      3,
    )} |`,
    `| concurrent: shaper bytes per mirror (median share %) | ${shareStr(S.map((r) => r.concBytes))} | ${shareStr(A.map((r) => r.concBytes))} | |`,
    `| mirrorgate CPU % of one core, serial / concurrent (median) | ${median(S.map((r) => r.serialCpuPct)).toFixed(0)} / ${median(S.map((r) => r.concCpuPct)).toFixed(0)} | ${median(A.map((r) => r.serialCpuPct)).toFixed(0)} / ${median(A.map((r) => r.concCpuPct)).toFixed(0)} | |`,
    `| effective weights ${NAMES.join('/')} at the end (median) | ${NAMES.map((_, i) => median(S.map((r) => r.weightsAfter[i])).toFixed(2)).join('/')} | ${NAMES.map((_, i) => median(A.map((r) => r.weightsAfter[i])).toFixed(2)).join('/')} | |`,
    `| mirrorgate's measured throughput ${NAMES.join('/')} at the end, MiB/s (median) | ${NAMES.map((_, i) => median(S.map((r) => r.tputAfter[i])).toFixed(1)).join('/')} | ${NAMES.map((_, i) => median(A.map((r) => r.tputAfter[i])).toFixed(1)).join('/')} | |`,
    `| mirrorgate's measured latency at the end, ms (median) | ${NAMES.map((_, i) => median(S.map((r) => r.latAfter[i])).toFixed(0)).join('/')} | ${NAMES.map((_, i) => median(A.map((r) => r.latAfter[i])).toFixed(0)).join('/')} | |`,
    `| serial: median client pull time per mirror, ms | ${NAMES.map((_, i) => median(S.map((r) => r.pullMsByMirror[i])).toFixed(0)).join('/')} | ${NAMES.map((_, i) => median(A.map((r) => r.pullMsByMirror[i])).toFixed(0)).join('/')} | |`,
    '',
  );
  const rate = RATES.reduce((a, r) => a + r, 0);
  const tOne = (r) => (meta.blobBytes / (r * MiB)) * 1000;
  lines.push(
    `Reference (link time only, no latency): one blob takes ${RATES.map((r) => `${tOne(r).toFixed(0)} ms at ${r}`).join(', ')}; serial ${meta.blobs} pulls ` +
      `all on ${NAMES[0]} ${((meta.blobs * tOne(RATES[0])) / 1000).toFixed(2)} s, in speed shares (${RATES.map((r) => ((100 * r) / rate).toFixed(0)).join('/')} %) ${((meta.blobs * 3 * meta.blobBytes) / (rate * MiB)).toFixed(2)} s, ` +
      `equal thirds ${(((meta.blobs / 3) * RATES.reduce((a, r) => a + tOne(r), 0)) / 1000).toFixed(2)} s. Concurrent ${PASSES * meta.blobs} pulls with every link busy: ` +
      `${((PASSES * meta.blobs * meta.blobBytes) / (rate * MiB)).toFixed(2)} s in speed shares; in equal thirds the ${RATES[2]} MiB/s link alone needs ${((PASSES * meta.blobs * meta.blobBytes) / 3 / (RATES[2] * MiB)).toFixed(2)} s.`,
    '',
  );
  lines.push(`Per run (serial: which mirror served each pull, 0 = ${NAMES[0]}, 1 = ${NAMES[1]}, 2 = ${NAMES[2]}):`, '');
  lines.push('| mode | rep | serial s | concurrent s | serial pulls per mirror | concurrent bytes % | serial sequence |', '|---|---|---|---|---|---|---|');
  for (const r of main)
    lines.push(
      `| ${r.mode} | ${r.rep} | ${r.serialS.toFixed(2)} | ${r.concS.toFixed(2)} | ${r.serialCounts.join('/')} | ${shares(r.concBytes)
        .map((x) => x.toFixed(0))
        .join('/')} | \`${r.serialSeq}\` |`,
    );
  lines.push('');
  lines.push(`## Slowdown: ${NAMES[0]} drops to ${DROP} MiB/s after ${WARM} serial pulls, ${AFTER} more serial pulls`, '');
  const SS = slow.filter((r) => r.mode === 'static');
  const SA = slow.filter((r) => r.mode === 'adaptive');
  const expect = [DROP, ...RATES.slice(1)];
  lines.push(
    `After the drop the speeds are ${expect.join('/')} MiB/s: speed shares ${shares(expect)
      .map((x) => x.toFixed(0))
      .join('/')} %. ` +
      `"Demoted" is the first pull after the drop after which /metrics shows ${NAMES[0]}'s effective weight below ${NAMES[1]}'s (no longer the top) and below ${NAMES[2]}'s (last, as it now is); seconds from the drop to the end of that pull.`,
    '',
  );
  const winCols = Math.max(...slow.map((r) => r.windows.length));
  lines.push(
    '| | static | adaptive |',
    '|---|---|---|',
    `| mean pull time before the drop (ms) | ${fmt(
      SS.map((r) => r.beforeMeanMs),
      0,
    )} | ${fmt(
      SA.map((r) => r.beforeMeanMs),
      0,
    )} |`,
    `| ${AFTER} pulls after the drop: sum of pull times (s) | ${fmt(SS.map((r) => r.afterS))} | ${fmt(SA.map((r) => r.afterS))} |`,
    `| after the drop: pulls per mirror (median share %) | ${shareStr(SS.map((r) => r.afterCounts))} | ${shareStr(SA.map((r) => r.afterCounts))} |`,
    ...Array.from({ length: winCols }, (_, k) => {
      const cell = (rs) => rs.map((r) => (r.windows[k] ? `${r.windows[k].m60}` : '-')).join(', ');
      return `| pulls ${10 * k + 1}–${10 * k + 10} after the drop: served by ${NAMES[0]}, per rep | ${cell(SS)} | ${cell(SA)} |`;
    }),
    `| demoted below ${NAMES[1]}: pulls after the drop, per rep | — | ${SA.map((r) => r.belowTop.pulls).join(', ')} |`,
    `| demoted below ${NAMES[1]}: seconds after the drop, per rep | — | ${SA.map((r) => r.belowTop.s.toFixed(1)).join(', ')} |`,
    `| demoted below ${NAMES[2]}: pulls after the drop, per rep | — | ${SA.map((r) => r.belowLast.pulls).join(', ')} |`,
    `| demoted below ${NAMES[2]}: seconds after the drop, per rep | — | ${SA.map((r) => r.belowLast.s.toFixed(1)).join(', ')} |`,
    `| effective weights ${NAMES.join('/')} before the drop (median) | | ${NAMES.map((_, i) => median(SA.map((r) => r.warmWeights[i])).toFixed(2)).join('/')} |`,
    `| effective weights at the end (median) | | ${NAMES.map((_, i) => median(SA.map((r) => r.endWeights[i])).toFixed(2)).join('/')} |`,
    `| measured throughput before the drop / at the end, MiB/s (median) | | ${NAMES.map((_, i) => median(SA.map((r) => r.warmTput[i])).toFixed(1)).join('/')} → ${NAMES.map((_, i) => median(SA.map((r) => r.endTput[i])).toFixed(1)).join('/')} |`,
    '',
  );
  lines.push('Sequences (before | after the drop):', '');
  for (const r of slow) lines.push(`- ${r.mode} rep ${r.rep}: \`${r.seq}\``);
  lines.push('');
  lines.push(
    `Adaptive, first 15 pulls after the drop, rep 1: seconds after the drop, mirror, pull ms, effective weights and measured throughput ${NAMES.join('/')} after the pull:`,
    '',
  );
  for (const p of (SA[0]?.trace ?? []).slice(0, 15))
    lines.push(`- ${p.t} s: ${NAMES[p.m]}, ${p.ms} ms, weights ${p.w.join('/')}, measured ${p.tput.join('/')} MiB/s`);
  lines.push('');
  const problems = [...main, ...slow].reduce((a, r) => a + r.problems, 0);
  lines.push(`Warnings/errors in mirrorgate's logs over all runs: ${problems}.`, '');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------

const meta = {
  started: new Date().toISOString(),
  command: `node scripts/bench/adaptive-balance.mjs ${process.argv.slice(2).join(' ')}`.trim(),
  uptimeBefore: uptime(),
  cores: cpus().length,
  pinned: multiCore && pinningEnabled(),
  blobs: Number(opts.blobs),
  blobMiB: Number(opts['blob-mib']),
};
process.on('SIGINT', () => {
  void stopAll().then(() => process.exit(130));
});
process.on('SIGTERM', () => {
  void stopAll().then(() => process.exit(143));
});
try {
  log(`adaptive-balance: ${meta.uptimeBefore}`);
  const wan = await setupWan(env, { ratesMiB: RATES, rttMs: RTT, layerMiB: Array.from({ length: meta.blobs }, () => meta.blobMiB) });
  const layers = wan.blobs.filter((b) => b.size > MiB);
  wan.paths = layers.map((b) => `/v2/${wan.tree.repo}/blobs/${b.digest}`);
  wan.sizeOf = new Map(layers.map((b, i) => [wan.paths[i], b.size]));
  meta.blobBytes = layers.reduce((a, b) => a + b.size, 0) / layers.length;
  // setupWan does not hand out the shaper's stats port: read it from the command line of our own child wan-shaper.mjs.
  const shaperArgs = childPids(process.pid)
    .map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'))
    .find((a) => a.some((x) => x.endsWith('wan-shaper.mjs')));
  wan.statsUrl = `http://127.0.0.1:${shaperArgs[shaperArgs.indexOf('--stats-port') + 1]}`;
  wan.setRate = async (i, rate) => {
    const res = await httpRequest(`${wan.statsUrl}/rate?listen=${wan.shaperPorts[i]}&rate=${Math.round(rate)}`, { method: 'POST' });
    if (res.status !== 204) throw new Error(`shaper /rate: ${res.status}`);
  };
  // Calibration: what the machine realizes of each link, pulled straight from the shaper (no gateway).
  meta.directMs = [];
  for (const [_i, port] of wan.shaperPorts.entries()) {
    const ms = [];
    for (const path of wan.paths.slice(0, 5)) ms.push((await pull(port, path)).ms);
    meta.directMs.push(median(ms));
  }
  log(`direct pulls, median ms per mirror: ${meta.directMs.map((x) => x.toFixed(0)).join('/')}`);
  const main = [];
  const slow = [];
  for (let rep = 1; rep <= reps; rep++) {
    const order = rep % 2 ? ['static', 'adaptive'] : ['adaptive', 'static'];
    for (const mode of order) {
      const r = await mainRun(wan, mode, rep);
      main.push(r);
      log(
        `rep ${rep} ${mode}: serial ${r.serialS.toFixed(2)} s ${r.serialCounts.join('/')}, concurrent ${r.concS.toFixed(2)} s ${shares(r.concBytes)
          .map((x) => x.toFixed(0))
          .join('/')} %, load ${loadavg()[0].toFixed(1)}`,
      );
    }
    for (const mode of order) {
      const r = await slowdownRun(wan, mode, rep);
      slow.push(r);
      log(
        `rep ${rep} slowdown ${mode}: after ${r.afterS.toFixed(2)} s ${r.afterCounts.join('/')}, demoted ${r.belowTop.pulls}/${r.belowLast.pulls} pulls ${r.belowTop.s.toFixed(1)}/${r.belowLast.s.toFixed(1)} s; ${r.seq}`,
      );
    }
  }
  meta.ended = new Date().toISOString();
  meta.uptimeAfter = uptime();
  await wan.stop();
  const md = report(meta, main, slow);
  writeFileSync(resolve(repoRoot, opts.out), `${md}\n`);
  if (opts.json) writeFileSync(resolve(repoRoot, opts.json), JSON.stringify({ meta, main, slow }, null, 1));
  process.stdout.write(`${md}\n`);
} finally {
  agent.destroy();
  await stopAll();
  if (!opts.keep) rmSync(dir, { recursive: true, force: true });
}
