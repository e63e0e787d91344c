/**
 * Medians, spreads, ratios and the markdown report.
 * results: { [workload]: { [peerId]: Array<run figures> } }
 */
import { PEER_LABELS } from './peers.mjs';

/** Rows of the tables: which figure of which workload, how to print it, which way is better. */
export const METRICS = [
  { w: 'manifest-get', k: 'rps', label: 'manifest GET req/s', better: 'higher', fmt: 'int' },
  { w: 'manifest-get', k: 'p50', label: 'manifest GET p50 ms', better: 'lower', fmt: 'ms' },
  { w: 'manifest-get', k: 'p99', label: 'manifest GET p99 ms', better: 'lower', fmt: 'ms' },
  { w: 'manifest-head', k: 'rps', label: 'manifest HEAD req/s (hload)', better: 'higher', fmt: 'int' },
  { w: 'manifest-head', k: 'p50', label: 'manifest HEAD p50 ms (hload)', better: 'lower', fmt: 'ms' },
  { w: 'manifest-head', k: 'p99', label: 'manifest HEAD p99 ms (hload)', better: 'lower', fmt: 'ms' },
  { w: 'manifest-get', k: 'upConnsPer1k', label: 'manifest GET: new upstream conns per 1k req', better: 'lower', fmt: 'n1', noRatio: true },
  { w: 'manifest-head', k: 'upConnsPer1k', label: 'manifest HEAD: new upstream conns per 1k req', better: 'lower', fmt: 'n1', noRatio: true },
  { w: 'blob4k', k: 'rps', label: '4 KiB blob req/s', better: 'higher', fmt: 'int' },
  { w: 'blob4k', k: 'p50', label: '4 KiB blob p50 ms', better: 'lower', fmt: 'ms' },
  { w: 'blob4k', k: 'p99', label: '4 KiB blob p99 ms', better: 'lower', fmt: 'ms' },
  { w: 'blob1m', k: 'mibps', label: '1 MiB blob MiB/s (wrk -c16)', better: 'higher', fmt: 'int' },
  { w: 'big-1', k: 'mibps', label: '256 MiB blob, 1 stream MiB/s', better: 'higher', fmt: 'int' },
  { w: 'big-8', k: 'mibps', label: '256 MiB blob, 8 streams MiB/s', better: 'higher', fmt: 'int' },
  { w: 'big-1', k: 'cpuPerGiB', label: 'server CPU s/GiB, 1 stream', better: 'lower', fmt: 'cpu' },
  { w: 'big-8', k: 'cpuPerGiB', label: 'server CPU s/GiB, 8 streams', better: 'lower', fmt: 'cpu' },
  { w: 'fleet', k: 'wall', label: 'fleet pull wall s', better: 'lower', fmt: 's' },
  { w: 'slow500', k: 'rssBeforeMiB', label: '500 slow readers: RSS before MiB', better: 'lower', fmt: 'mib' },
  { w: 'slow500', k: 'rssPeakMiB', label: '500 slow readers: peak RSS MiB', better: 'lower', fmt: 'mib' },
  { w: 'slow500', k: 'connsDuring', label: '500 slow readers: upstream conns while reading', better: 'none', fmt: 'count', noRatio: true },
  {
    w: 'slow500',
    k: 'connsAfter',
    label: 'upstream conns left open 5 s after hang-up (net of those open before)',
    better: 'lower',
    fmt: 'count',
    noRatio: true,
  },
  {
    w: 'slow500',
    k: 'servedAtOnce',
    label: 'serves a manifest (200) 5 s after the hang-up (1 = yes)',
    better: 'higher',
    fmt: 'count',
    noRatio: true,
    allRuns: true,
  },
  { w: 'slow500', k: 'servesAgainS', label: 'first 200 after the hang-up, s (probed from 5 s on)', better: 'lower', fmt: 's', noRatio: true, allRuns: true },
  // The cache workloads (issue 9): cache-workloads.mjs and fleet-wan.mjs.
  { w: 'cache-manifest-get', k: 'rps', label: 'cached manifest GET req/s', better: 'higher', fmt: 'int' },
  { w: 'cache-manifest-get', k: 'p50', label: 'cached manifest GET p50 ms', better: 'lower', fmt: 'ms' },
  { w: 'cache-manifest-get', k: 'p99', label: 'cached manifest GET p99 ms', better: 'lower', fmt: 'ms' },
  {
    w: 'cache-manifest-get',
    k: 'upstreamRequests',
    label: 'cached manifest GET: upstream requests during the measurement',
    better: 'lower',
    fmt: 'count',
    noRatio: true,
  },
  { w: 'cache-manifest-get', k: 'requests', label: 'cached manifest GET: requests in the measurement', better: 'none', fmt: 'count', noRatio: true },
  { w: 'cache-big-1', k: 'mibps', label: 'cached 256 MiB blob, 1 stream MiB/s', better: 'higher', fmt: 'int' },
  { w: 'cache-big-8', k: 'mibps', label: 'cached 256 MiB blob, 8 streams MiB/s', better: 'higher', fmt: 'int' },
  { w: 'cache-big-1', k: 'cpuPerGiB', label: 'cached blob: server CPU s/GiB, 1 stream', better: 'lower', fmt: 'cpu' },
  { w: 'cache-big-8', k: 'cpuPerGiB', label: 'cached blob: server CPU s/GiB, 8 streams', better: 'lower', fmt: 'cpu' },
  {
    w: 'cache-big-8',
    k: 'upstreamRequests',
    label: 'cached blob, 8 streams: upstream requests (downloads in the next row)',
    better: 'lower',
    fmt: 'count',
    noRatio: true,
  },
  { w: 'cache-big-8', k: 'downloads', label: 'cached blob, 8 streams: downloads', better: 'none', fmt: 'count', noRatio: true },
  { w: 'cache-slow500', k: 'rssBeforeMiB', label: '500 slow readers of a cached blob: RSS before MiB', better: 'lower', fmt: 'mib' },
  { w: 'cache-slow500', k: 'rssPeakMiB', label: '500 slow readers of a cached blob: peak RSS MiB', better: 'lower', fmt: 'mib' },
  { w: 'cache-slow500', k: 'rssAfterMiB', label: '500 slow readers of a cached blob: RSS 5 s after they hung up MiB', better: 'lower', fmt: 'mib' },
  {
    w: 'cache-slow500',
    k: 'connsDuring',
    label: '500 slow readers of a cached blob: upstream conns while reading',
    better: 'lower',
    fmt: 'count',
    noRatio: true,
  },
  // Issue 10: one client's cold pull (peer started afresh), and when the mirrors were done (WAN time).
  { w: 'fleet-wan', k: 'singleWall', label: 'fleet-wan single cold pull: wall s', better: 'lower', fmt: 's' },
  { w: 'fleet-wan', k: 'singleWanS', label: 'fleet-wan single cold pull: WAN time s (last mirror byte)', better: 'lower', fmt: 's' },
  { w: 'fleet-wan', k: 'singleWanTmin', label: 'fleet-wan single cold pull: WAN time ÷ T_min', better: 'lower', fmt: 'x', noRatio: true },
  { w: 'fleet-wan', k: 'singleWallTmin', label: 'fleet-wan single cold pull: wall ÷ T_min', better: 'lower', fmt: 'x', noRatio: true },
  {
    w: 'fleet-wan',
    k: 'singleShareDev',
    label: 'fleet-wan single cold pull: largest mirror byte-share deviation from its speed share',
    better: 'lower',
    fmt: 'x',
    noRatio: true,
  },
  { w: 'fleet-wan', k: 'coldWanS', label: 'fleet-wan cold: WAN time s (last mirror byte)', better: 'lower', fmt: 's' },
  { w: 'fleet-wan', k: 'coldWanTmin', label: 'fleet-wan cold: WAN time ÷ T_min', better: 'lower', fmt: 'x', noRatio: true },
  {
    w: 'fleet-wan',
    k: 'coldShareDev',
    label: 'fleet-wan cold: largest mirror byte-share deviation from its speed share',
    better: 'lower',
    fmt: 'x',
    noRatio: true,
  },
  { w: 'fleet-wan', k: 'coldWall', label: 'fleet-wan cold wall s', better: 'lower', fmt: 's' },
  { w: 'fleet-wan', k: 'warmWall', label: 'fleet-wan warm wall s', better: 'lower', fmt: 's' },
  { w: 'fleet-wan', k: 'coldTmin', label: 'fleet-wan cold wall ÷ T_min', better: 'lower', fmt: 'x', noRatio: true },
  { w: 'fleet-wan', k: 'warmTmin', label: 'fleet-wan warm wall ÷ T_min', better: 'lower', fmt: 'x', noRatio: true },
  { w: 'fleet-wan', k: 'coldVsWarm', label: 'fleet-wan cold wall ÷ own warm wall', better: 'lower', fmt: 'x', noRatio: true },
  { w: 'fleet-wan', k: 'coldUpX', label: 'fleet-wan cold: bytes from the mirrors ÷ image', better: 'lower', fmt: 'x', allRuns: true },
  { w: 'fleet-wan', k: 'coldShapedX', label: 'fleet-wan cold: bytes over the shaper ÷ image', better: 'lower', fmt: 'x', noRatio: true, allRuns: true },
  {
    w: 'fleet-wan',
    k: 'coldMaxGetsPerBlob',
    label: 'fleet-wan cold: mirror GETs of the busiest blob',
    better: 'lower',
    fmt: 'count',
    noRatio: true,
    allRuns: true,
  },
  { w: 'fleet-wan', k: 'warmUpBlobMiB', label: 'fleet-wan warm: blob MiB from the mirrors', better: 'lower', fmt: 'mib', noRatio: true, allRuns: true },
  {
    w: 'fleet-wan',
    k: 'warmUpMiB',
    label: 'fleet-wan warm: all MiB from the mirrors (manifests too)',
    better: 'lower',
    fmt: 'n3',
    noRatio: true,
    allRuns: true,
  },
  {
    w: 'fleet-wan',
    k: 'correct',
    label: 'fleet-wan: pulls with every blob correct (of 2 × F + 1)',
    better: 'higher',
    fmt: 'count',
    noRatio: true,
    allRuns: true,
  },
  { w: 'fleet-wan', k: 'rssPeakMiB', label: 'fleet-wan: peer peak RSS MiB', better: 'lower', fmt: 'mib' },
  { w: 'fleet-wan', k: 'coldCpuS', label: 'fleet-wan cold: peer CPU s', better: 'lower', fmt: 's' },
  { w: 'fleet-wan', k: 'warmCpuS', label: 'fleet-wan warm: peer CPU s', better: 'lower', fmt: 's' },
  { w: 'fleet-wan', k: 'coldSyscalls', label: 'fleet-wan cold: peer read+write syscalls', better: 'lower', fmt: 'int' },
  { w: 'fleet-wan', k: 'warmSyscalls', label: 'fleet-wan warm: peer read+write syscalls', better: 'lower', fmt: 'int' },
  {
    w: 'fleet-wan',
    k: 'loadAvg1',
    label: 'fleet-wan: 1-min load average after the run (2 cores; noise)',
    better: 'none',
    fmt: 'n1',
    noRatio: true,
    allRuns: true,
  },
];

export function median(xs) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function summarize(values) {
  const v = values.filter(Number.isFinite);
  if (v.length === 0) return undefined;
  return { n: v.length, median: median(v), min: Math.min(...v), max: Math.max(...v) };
}

function fmtNum(x, fmt) {
  if (!Number.isFinite(x)) return '–';
  switch (fmt) {
    case 'int':
      return Math.round(x).toLocaleString('en-US');
    case 'ms':
      return x < 10 ? x.toFixed(2) : x.toFixed(1);
    case 'cpu':
      return x.toFixed(3);
    case 's':
      return x.toFixed(2);
    case 'mib':
      return x.toFixed(1);
    case 'n1':
      return x.toFixed(1);
    case 'count':
      return String(Math.round(x));
    case 'x':
      return `${x.toFixed(2)}×`;
    case 'n3':
      return x.toFixed(3);
    default:
      return String(x);
  }
}

function cell(s, fmt) {
  if (s === undefined) return '–';
  const m = fmtNum(s.median, fmt);
  if (s.n < 2) return m;
  if (fmt === 'count' || s.median === 0) return s.min === s.max ? m : `${m} (${fmtNum(s.min, fmt)}–${fmtNum(s.max, fmt)})`;
  const spread = ((s.max - s.min) / (2 * Math.abs(s.median))) * 100;
  return `${m} ±${spread < 10 ? spread.toFixed(1) : spread.toFixed(0)}%`;
}

/** A metric's figures over the runs; runs with errors are left out (they are listed as failed). */
export function figures(results, metric, peer) {
  return (results[metric.w]?.[peer] ?? []).filter((r) => metric.allRuns || !(r.errors > 0)).map((r) => r[metric.k]);
}

/** Peers mirrorgate is compared with in the "mirrorgate ÷ peer" table, in this order. */
const MIRRORGATE_REFS = ['bare', 'nginx', 'haproxy', 'http-proxy', 'direct', 'nginx-buf', 'mirrorgate-noverify'];
/** And mirrorgate with its cache on, on the cache workloads. */
const MIRRORGATE_CACHE_REFS = ['nginx', 'nginx-cache', 'distribution', 'nginx-static'];

/**
 * The subject's median ÷ each peer's median, one column per peer ("÷ bare" first for
 * mirrorgate: the ceiling of mirrorgate's own stack). With 2+ repetitions, the range of the
 * per-repetition ratios (the subject's run and the peer's run of the same repetition, measured
 * minutes apart) follows in brackets: the spread of the comparison itself.
 */
function subjectRatios(results, peers, shown, dir, subject, refList) {
  if (!peers.includes(subject)) return [];
  const refs = refList.filter((p) => peers.includes(p));
  if (refs.length === 0) return [];
  const fmt = (x) => `${x.toFixed(2)}×`;
  const lines = [`## ${subject} ÷ each peer (ratio of medians; [range of the per-repetition ratios])`, ''];
  lines.push(`| metric | ${refs.map((p) => `÷ ${p}`).join(' | ')} |\n|---|${refs.map(() => '---:').join('|')}|`);
  for (const m of shown) {
    if (m.noRatio) continue;
    const mine = summarize(figures(results, m, subject));
    const row = refs.map((p) => {
      const r = summarize(figures(results, m, p));
      if (!mine || !r || r.median === 0) return '–';
      const paired = pairedRatios(results, m, subject, p);
      const range = paired.length >= 2 ? ` [${fmt(Math.min(...paired))}–${fmt(Math.max(...paired))}]` : '';
      return `${fmt(mine.median / r.median)}${range}`;
    });
    if (row.every((c) => c === '–')) continue;
    lines.push(`| ${m.label}${dir(m)} | ${row.join(' | ')} |`);
  }
  lines.push('');
  return lines;
}

/**
 * fleet-wan against the issue 9 targets: mirrorgate-cache's cold upstream bytes 1.0× the image,
 * 0 blob bytes warm, cold wall ≤ 1.15× its own warm wall and ≤ 0.7× the best other peer's cold
 * wall. "met" is judged on the median; the range is over the repetitions.
 */
function fleetWanTargets(results) {
  const runs = results['fleet-wan'];
  const mine = runs?.['mirrorgate-cache'];
  if (!mine || mine.length === 0) return [];
  const range = (xs, f) => (xs.length >= 2 ? ` [${f(Math.min(...xs))}–${f(Math.max(...xs))}]` : '');
  const x = (v) => `${v.toFixed(2)}×`;
  const row = (what, xs, f, target, ok) => {
    const m = median(xs);
    return `| ${what} | ${Number.isFinite(m) ? f(m) : '–'}${range(xs, f)} | ${target} | ${Number.isFinite(m) ? (ok(m) ? 'yes' : '**no**') : '–'} |`;
  };
  const coldWall = { w: 'fleet-wan', k: 'coldWall' };
  const others = Object.keys(runs).filter((p) => p !== 'mirrorgate-cache' && figures(results, coldWall, p).length > 0);
  const best = others.sort((a, b) => median(figures(results, coldWall, a)) - median(figures(results, coldWall, b)))[0];
  const lines = ['## fleet-wan: mirrorgate-cache against the issue 9 targets (median [range over repetitions])', ''];
  lines.push('| figure | measured | target | met (median) |', '|---|---:|---|---|');
  lines.push(
    row(
      'cold: bytes from the mirrors ÷ image',
      mine.map((r) => r.coldUpX),
      x,
      '1.0×',
      (m) => m <= 1.01,
    ),
  );
  lines.push(
    row(
      'cold: mirror GETs of the busiest blob',
      mine.map((r) => r.coldMaxGetsPerBlob),
      String,
      '1',
      (m) => m <= 1,
    ),
  );
  lines.push(
    row(
      'warm: blob bytes from the mirrors, MiB',
      mine.map((r) => r.warmUpBlobMiB),
      (v) => v.toFixed(1),
      '0',
      (m) => m === 0,
    ),
  );
  lines.push(
    row(
      'cold wall ÷ own warm wall',
      mine.map((r) => r.coldVsWarm),
      x,
      '≤ 1.15×',
      (m) => m <= 1.15,
    ),
  );
  if (best) {
    const paired = pairedRatios(results, coldWall, 'mirrorgate-cache', best);
    const ratio = median(figures(results, coldWall, 'mirrorgate-cache')) / median(figures(results, coldWall, best));
    lines.push(`| cold wall ÷ best other peer's cold wall (${best}) | ${x(ratio)}${range(paired, x)} | ≤ 0.7× | ${ratio <= 0.7 ? 'yes' : '**no**'} |`);
  }
  const correct = mine.reduce((a, r) => a + r.correct, 0);
  const pulls = mine.reduce((a, r) => a + r.pulls, 0);
  lines.push(`| pulls correct (all runs) | ${correct}/${pulls} | all | ${correct === pulls ? 'yes' : '**no**'} |`, '');
  return lines;
}

/**
 * fleet-wan against the issue 10 targets: mirrorgate-cache's single cold pull WAN time ≤ 1.3×
 * T_min and wall ≤ 0.6× the best other peer's; its cold fleet WAN time ≤ 1.3× T_min; each
 * mirror's byte share within ±10 % of its speed share. Beside them every peer's WAN time and
 * shares, since the point is one mirror per blob against all of them at once.
 */
function fleetWanTimeTargets(results) {
  const runs = results['fleet-wan'];
  const mine = runs?.['mirrorgate-cache'];
  if (!mine || mine.length === 0 || mine[0].singleWall === undefined) return [];
  const range = (xs, f) => (xs.length >= 2 ? ` [${f(Math.min(...xs))}–${f(Math.max(...xs))}]` : '');
  const x = (v) => `${v.toFixed(2)}×`;
  const pct = (v) => `${(100 * v).toFixed(0)} %`;
  const row = (what, xs, f, target, ok) => {
    const m = median(xs);
    return `| ${what} | ${Number.isFinite(m) ? f(m) : '–'}${range(xs, f)} | ${target} | ${Number.isFinite(m) ? (ok(m) ? 'yes' : '**no**') : '–'} |`;
  };
  const singleWall = { w: 'fleet-wan', k: 'singleWall' };
  const others = Object.keys(runs).filter((p) => p !== 'mirrorgate-cache' && figures(results, singleWall, p).length > 0);
  const best = others.sort((a, b) => median(figures(results, singleWall, a)) - median(figures(results, singleWall, b)))[0];
  const lines = ['## fleet-wan: WAN time and mirror shares against the issue 10 targets (median [range over repetitions])', ''];
  lines.push('| figure (mirrorgate-cache) | measured | target | met (median) |', '|---|---:|---|---|');
  lines.push(
    row(
      'single cold pull: WAN time ÷ T_min',
      mine.map((r) => r.singleWanTmin),
      x,
      '≤ 1.3×',
      (m) => m <= 1.3,
    ),
  );
  if (best) {
    const paired = pairedRatios(results, singleWall, 'mirrorgate-cache', best);
    const ratio = median(figures(results, singleWall, 'mirrorgate-cache')) / median(figures(results, singleWall, best));
    lines.push(`| single cold pull: wall ÷ best other peer's (${best}) | ${x(ratio)}${range(paired, x)} | ≤ 0.6× | ${ratio <= 0.6 ? 'yes' : '**no**'} |`);
  }
  lines.push(
    row(
      'cold fleet: WAN time ÷ T_min',
      mine.map((r) => r.coldWanTmin),
      x,
      '≤ 1.3×',
      (m) => m <= 1.3,
    ),
  );
  lines.push(
    row(
      'single cold pull: largest mirror byte-share deviation',
      mine.map((r) => r.singleShareDev),
      pct,
      '≤ 10 %',
      (m) => m <= 0.1,
    ),
  );
  lines.push(
    row(
      'cold fleet: largest mirror byte-share deviation',
      mine.map((r) => r.coldShareDev),
      pct,
      '≤ 10 %',
      (m) => m <= 0.1,
    ),
  );
  lines.push('');
  lines.push(
    'Per peer, each repetition (WAN time = round start → last mirror byte delivered by the shaper; shares of the shaped bytes per mirror, speed share = the link rate of a mirror ÷ the summed rates, 50/33/17 % at 60/40/20 MiB/s):',
    '',
  );
  lines.push(
    '| peer | rep | single: wall s | single: WAN s | single: shares % | cold fleet: wall s | cold fleet: WAN s | cold fleet: shares % |',
    '|---|---:|---:|---:|---|---:|---:|---|',
  );
  for (const [peer, rs] of Object.entries(runs)) {
    for (const r of rs) {
      lines.push(
        `| ${peer} | ${(r.rep ?? 0) + 1} | ${r.singleWall?.toFixed(2)} | ${r.singleWanS?.toFixed(2)} | ${r.singleShares} | ${r.coldWall?.toFixed(2)} | ${r.coldWanS?.toFixed(2)} | ${r.coldShares} |`,
      );
    }
  }
  lines.push('');
  return lines;
}

/** a's figure ÷ b's figure, repetition by repetition (runs with errors left out). */
export function pairedRatios(results, metric, a, b) {
  const byRep = (peer) => {
    const map = new Map();
    for (const r of results[metric.w]?.[peer] ?? []) {
      if (!metric.allRuns && r.errors > 0) continue;
      if (Number.isFinite(r[metric.k]) && r.rep !== undefined) map.set(r.rep, r[metric.k]);
    }
    return map;
  };
  const ma = byRep(a);
  const mb = byRep(b);
  const out = [];
  for (const [rep, x] of ma) {
    const y = mb.get(rep);
    if (y !== undefined && y !== 0) out.push(x / y);
  }
  return out;
}

/** Markdown: header, absolute table, ratio tables, long-run RSS, skips/failures, notes. */
export function renderReport({ results, peers, meta, rssLong, skips, failures, notes }) {
  const shown = METRICS.filter((m) => peers.some((p) => figures(results, m, p).length > 0));
  const head = (first) => `| ${first} | ${peers.map((p) => PEER_LABELS[p]).join(' | ')} |\n|---|${peers.map(() => '---:').join('|')}|`;
  const dir = (m) => (m.better === 'higher' ? ' ↑' : m.better === 'lower' ? ' ↓' : '');
  const lines = [];
  lines.push(`# mirrorgate bench — ${meta.date}`, '');
  lines.push(meta.summary, '');
  lines.push(`## Absolute figures (median of ${meta.reps} run${meta.reps > 1 ? 's' : ''}; ±x% = (max − min) / (2 · median))`, '');
  lines.push(head('metric (↑ higher is better, ↓ lower)'));
  for (const m of shown) {
    lines.push(`| ${m.label}${dir(m)} | ${peers.map((p) => cell(summarize(figures(results, m, p)), m.fmt)).join(' | ')} |`);
  }
  lines.push('');
  for (const ref of ['nginx', 'direct']) {
    if (!peers.includes(ref)) continue;
    lines.push(`## Ratios vs ${PEER_LABELS[ref]} (peer median / ${ref} median)`, '');
    lines.push(head('metric'));
    for (const m of shown) {
      if (m.noRatio) continue;
      const r = summarize(figures(results, m, ref));
      const row = peers.map((p) => {
        const s = summarize(figures(results, m, p));
        if (!s || !r || r.median === 0) return '–';
        return `${(s.median / r.median).toFixed(2)}×`;
      });
      if (row.every((c) => c === '–')) continue;
      lines.push(`| ${m.label}${dir(m)} | ${row.join(' | ')} |`);
    }
    lines.push('');
  }
  lines.push(...fleetWanTargets(results));
  lines.push(...fleetWanTimeTargets(results));
  lines.push(...subjectRatios(results, peers, shown, dir, 'mirrorgate', MIRRORGATE_REFS));
  lines.push(
    ...subjectRatios(
      results,
      peers,
      shown.filter((m) => m.w.startsWith('cache-') || m.w === 'fleet-wan'),
      dir,
      'mirrorgate-cache',
      MIRRORGATE_CACHE_REFS,
    ),
  );
  const noisy = Object.keys(results).filter((w) => peers.some((p) => (results[w][p] ?? []).some((r) => Number.isFinite(r.foreignPct))));
  if (noisy.length > 0) {
    lines.push("## Noise: other processes' user time on the peer core, % (median, max)", '');
    lines.push(head('workload'));
    for (const w of noisy) {
      const row = peers.map((p) => {
        const s = summarize((results[w][p] ?? []).map((r) => r.foreignPct));
        return s ? `${s.median.toFixed(0)} (${s.max.toFixed(0)})` : '–';
      });
      lines.push(`| ${w} | ${row.join(' | ')} |`);
    }
    lines.push('');
  }
  if (rssLong) {
    const f = (x) => x.toFixed(1);
    lines.push('## mirrorgate RSS over a long run of manifest GETs (wrk -t1 -c64, one run)', '');
    lines.push(
      '| requests | seconds | req/s | errors | RSS before MiB | at 25 % MiB | at 50 % MiB | peak MiB | at end MiB | 5 s later MiB | growth MiB (5 s later − before) | growth in 2nd half MiB |',
    );
    lines.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    lines.push(
      `| ${Math.round(rssLong.requests).toLocaleString('en-US')} | ${rssLong.seconds.toFixed(0)} | ${Math.round(rssLong.rps).toLocaleString('en-US')} | ${rssLong.errors} | ${f(rssLong.rssBeforeMiB)} | ${f(rssLong.rssQuarterMiB)} | ${f(rssLong.rssHalfMiB)} | ${f(rssLong.rssPeakMiB)} | ${f(rssLong.rssAfterMiB)} | ${f(rssLong.rssSettledMiB)} | ${f(rssLong.rssSettledMiB - rssLong.rssBeforeMiB)} | ${f(rssLong.rssAfterMiB - rssLong.rssHalfMiB)} |`,
      '',
    );
  }
  if (skips.length > 0 || failures.length > 0) {
    lines.push('## Skipped and failed', '');
    for (const s of skips) lines.push(`- skipped: ${s}`);
    for (const f of failures) lines.push(`- FAILED: ${f}`);
    lines.push('');
  }
  lines.push('## Notes', '');
  for (const n of notes) lines.push(`- ${n}`);
  lines.push('');
  return lines.join('\n');
}
