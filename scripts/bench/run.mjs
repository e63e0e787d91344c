#!/usr/bin/env node
/**
 * `npm run bench [-- flags]`: mirrorgate against nginx, haproxy, an http-proxy gateway, a bare
 * node:http + undici relay and a direct connection, all in front of the same three static nginx upstreams (weights 3:2:1),
 * everything on 127.0.0.1. See scripts/bench/README.md.
 *
 * flags:
 *   --quick                 1 repetition, short durations (smoke run)
 *   --only=a,b              peers: mirrorgate,bare,nginx,nginx-buf,haproxy,http-proxy,direct
 *                           (and mirrorgate-noverify, only when named here)
 *   --workloads=a,b         manifest-get,manifest-head,blob4k,blob1m,big-1,big-8,fleet,slow500,rss-long
 *                           (default: all but blob1m)
 *   --out=FILE              markdown report (default scripts/bench/results.md; raw JSON beside it)
 *   --reps=N                repetitions of each workload, peers alternating (default 3, quick 1)
 *   --duration=S            wrk/hload measurement seconds (default 4, quick 2)
 *   --warmup=S              warm-up seconds before each wrk/hload measurement (default 1, quick 0.5)
 *   --big-duration=S        seconds of 256 MiB downloads per measurement (default 4, quick 2)
 *   --fleet=N               concurrent skopeo copies (default 20)
 *   --slow-count=N          slow readers (default 500); --slow-rate=BYTES/s each (default 32768)
 *   --slow-hold=S           seconds the slow readers read before hanging up (default 5, quick 3)
 *   --rss-requests=N        manifest GETs for the mirrorgate RSS long run (default 1000000, quick 50000)
 *   --rss-max-seconds=S     time bound of that run (default 150, quick 15)
 *   --log-level=L           mirrorgate log level (default warn)
 *   --max-connections=N     mirrorgate maxConnections per upstream (default 1024)
 *   --baseline=DIR          another built checkout (e.g. a git worktree of an older commit, with
 *                           dist/ and node_modules/), run as the peer mirrorgate-baseline
 *   --no-pin                do not pin peers to CPU 1 and load generators/upstream to CPU 0
 *   --no-build              do not run `npm run build` first
 *   --keep                  keep the work dir (configs, logs, fixture tree) for inspection
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateRegistryTree, upstreamNginxConf } from './fixtures.mjs';
import { OPTIONAL_PEER_IDS, PEER_IDS, PEER_LABELS, startPeer } from './peers.mjs';
import { CLK_TCK, childPids, cpuLineTicks, userTicks, freePort, pinningEnabled, run, setPinning, start, stop, stopAll, waitHttp } from './procs.mjs';
import { renderReport } from './report.mjs';
import { DEFAULT_WORKLOADS, RUNNERS, WORKLOADS, preflight, rssLongRun, skipReason, waitServing } from './workloads.mjs';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const log = (msg) => process.stderr.write(`${msg}\n`);

// ---------------------------------------------------------------------------------------------
// flags
// ---------------------------------------------------------------------------------------------

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    workloads: { type: 'string' },
    out: { type: 'string', default: join(repoRoot, 'scripts', 'bench', 'results.md') },
    reps: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    'big-duration': { type: 'string' },
    fleet: { type: 'string' },
    'slow-count': { type: 'string' },
    'slow-rate': { type: 'string' },
    'slow-hold': { type: 'string' },
    'rss-requests': { type: 'string' },
    'rss-max-seconds': { type: 'string' },
    'log-level': { type: 'string', default: 'warn' },
    'max-connections': { type: 'string', default: '1024' },
    baseline: { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (flags.help) {
  const src = (await import('node:fs')).readFileSync(fileURLToPath(import.meta.url), 'utf8');
  process.stdout.write(`${/\/\*\*([\s\S]*?)\*\//.exec(src)[1].replace(/^ \* ?/gm, '')}\n`);
  process.exit(0);
}
const quick = flags.quick;
const num = (name, full, short) => {
  const v = flags[name];
  if (v === undefined) return quick ? short : full;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: not a number: ${v}`);
  return n;
};
const opts = {
  reps: Math.max(1, Math.round(num('reps', 3, 1))),
  duration: num('duration', 4, 2),
  warmup: num('warmup', 1, 0.5),
  bigDuration: num('big-duration', 4, 2),
  fleet: Math.max(1, Math.round(num('fleet', 20, 20))),
  slowCount: Math.round(num('slow-count', 500, 500)),
  slowRate: num('slow-rate', 32768, 32768),
  slowHold: num('slow-hold', 5, 3),
  slowAfter: 5,
  rssRequests: Math.round(num('rss-requests', 1_000_000, 50_000)),
  rssMaxSeconds: num('rss-max-seconds', 150, 15),
};
const list = (v, all, what) => {
  if (v === undefined) return undefined;
  const items = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const i of items) if (!all.includes(i)) throw new Error(`unknown ${what} "${i}"; known: ${all.join(', ')}`);
  return items;
};
const peerIds = list(flags.only, [...PEER_IDS, ...OPTIONAL_PEER_IDS], 'peer') ?? PEER_IDS;
const allWorkloads = [...Object.keys(WORKLOADS), 'rss-long'];
const workloads = list(flags.workloads, allWorkloads, 'workload') ?? [...DEFAULT_WORKLOADS, 'rss-long'];
const repeated = Object.keys(WORKLOADS).filter((w) => workloads.includes(w));
const nproc = os.availableParallelism();
setPinning(!flags['no-pin'] && nproc >= 2);
const peerCpu = 1;
const clientCpu = 0;

// ---------------------------------------------------------------------------------------------
// cleanup on every way out
// ---------------------------------------------------------------------------------------------

let workDir;
let cleaning;
async function cleanup() {
  cleaning ??= (async () => {
    await stopAll();
    if (workDir && !flags.keep) rmSync(workDir, { recursive: true, force: true });
    else if (workDir) log(`work dir kept: ${workDir}`);
  })();
  return cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    log(`\n${sig}: stopping everything started by the bench`);
    cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------------------------

function tool(cmd, args = ['--version']) {
  try {
    const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.error) throw r.error;
    return `${r.stdout}${r.stderr}`.trim().split('\n')[0];
  } catch (err) {
    const text = `${err.stdout ?? ''}${err.stderr ?? ''}`.trim().split('\n')[0];
    if (err.code === 'ENOENT') return undefined;
    return text;
  }
}

async function main() {
  const t0 = Date.now();
  const versions = {
    nginx: tool('nginx', ['-v']),
    haproxy: tool('haproxy', ['-v']),
    wrk: tool('wrk', ['-v']),
    curl: tool('curl'),
    skopeo: tool('skopeo'),
    taskset: tool('taskset', ['-V']),
  };
  const needed = { nginx: true, wrk: true, curl: true, haproxy: peerIds.includes('haproxy'), skopeo: workloads.includes('fleet'), taskset: pinningEnabled() };
  const missing = Object.keys(needed).filter((t) => needed[t] && versions[t] === undefined);
  if (missing.length > 0) throw new Error(`missing tools: ${missing.join(', ')} (apt-get install nginx-light haproxy wrk curl skopeo)`);
  const clk = Number(tool('getconf', ['CLK_TCK']));
  if (clk !== CLK_TCK) throw new Error(`CLK_TCK is ${clk}, the harness assumes ${CLK_TCK}`);

  const git = (args) => spawnSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).stdout?.trim() ?? '';
  const commit = git(['rev-parse', '--short', 'HEAD']) || 'unknown';
  const dirty = git(['status', '--porcelain', '--', 'src']).split('\n').filter(Boolean).length;
  const built = `commit ${commit}${dirty ? ` + ${dirty} modified file(s) under src/` : ''}`;
  if (!flags['no-build'] && peerIds.some((id) => id.startsWith('mirrorgate'))) {
    log('building mirrorgate (npm run build)…');
    const b = await run('build', ['npm', 'run', 'build'], { cwd: repoRoot, timeoutMs: 300_000 });
    if (b.code !== 0) throw new Error(`npm run build failed:\n${b.stdout}\n${b.stderr}`);
  }
  if (pinningEnabled()) execFileSync('taskset', ['-pc', String(clientCpu), String(process.pid)], { stdio: 'ignore' });

  workDir = mkdtempSync(join(os.tmpdir(), 'mirrorgate-bench-'));
  chmodSync(workDir, 0o755);
  log(`work dir ${workDir}`);
  const www = join(workDir, 'www');
  const tg = Date.now();
  const tree = generateRegistryTree(www);
  log(
    `fixtures: manifest ${tree.manifestBytes} B (${tree.manifestDigest.slice(0, 19)}…), image ${(tree.imageBytes / 2 ** 20).toFixed(1)} MiB, big blob ${tree.bigBlobBytes / 2 ** 20} MiB, in ${Date.now() - tg} ms`,
  );

  // The upstreams: one nginx, one worker, three ports.
  const upstreamPorts = [await freePort(), await freePort(), await freePort()];
  const weights = [3, 2, 1];
  const upDir = join(workDir, 'upstream');
  for (const d of ['client', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(upDir, 'tmp', d), { recursive: true });
  const upConf = join(upDir, 'nginx.conf');
  writeFileSync(upConf, upstreamNginxConf({ dir: upDir, www, ports: upstreamPorts, tree, user: process.getuid?.() === 0 }));
  const upProc = start('upstream-nginx', ['nginx', '-p', upDir, '-c', upConf, '-e', join(upDir, 'upstream-error.log')], {
    cpu: clientCpu,
    cwd: upDir,
    log: join(upDir, 'output.log'),
  });
  for (const p of upstreamPorts) await waitHttp(`http://127.0.0.1:${p}/v2/`, upProc);
  const upstream = { pids: () => [upProc.pid, ...childPids(upProc.pid)] };
  log(`upstreams: nginx pid ${upProc.pid} on 127.0.0.1:${upstreamPorts.join(', ')} (weights ${weights.join(':')})`);

  const ctx = {
    dir: workDir,
    repoRoot,
    upstreamPorts,
    weights,
    cpu: peerCpu,
    logLevel: flags['log-level'],
    maxConnections: Number(flags['max-connections']),
    baselineRoot: flags.baseline === undefined ? undefined : resolve(flags.baseline),
    upstream,
  };
  const peers = {};
  const skips = [];
  const failures = [];
  for (const id of peerIds) {
    try {
      const peer = await startPeer(id, ctx);
      const problems = await preflight(peer, tree);
      if (problems.length > 0) {
        failures.push(`${id}: preflight: ${problems.join('; ')} — peer dropped`);
        log(`! ${id} failed preflight: ${problems.join('; ')}`);
        await peer.stop();
        continue;
      }
      peers[id] = peer;
      log(`peer ${id}: 127.0.0.1:${peer.port}${peer.proc ? ` pid ${peer.proc.pid}` : ''} — preflight ok`);
    } catch (err) {
      failures.push(`${id}: could not start: ${err.message}`);
      log(`! ${id} could not start: ${err.message}`);
    }
  }
  const active = peerIds.filter((id) => peers[id]);
  if (active.length === 0) throw new Error('no peer started');

  const env = { tree, opts, dir: workDir, repoRoot, upstreamPorts, clientCpu, log };
  const results = {};
  for (const w of repeated) {
    for (const id of active) {
      const why = skipReason(w, id);
      if (why) skips.push(`${w} × ${id}: ${why}`);
    }
  }

  for (let rep = 0; rep < opts.reps; rep += 1) {
    // Alternate: each repetition starts the peer rotation one further along.
    const order = active.map((_, i) => active[(i + rep) % active.length]);
    for (const w of repeated) {
      for (const id of order) {
        if (skipReason(w, id)) continue;
        await ensureServing(peers[id], env, `${w} run ${rep + 1}`, failures);
        const t = Date.now();
        // Foreign load: user time on the peer CPU not spent by the peer (other processes on a
        // shared machine), as a share of that CPU over the measurement. Pinned runs only.
        const peerUser = () => peers[id].pids().reduce((a, p) => a + userTicks(p), 0);
        const c0 = cpuLineTicks(peerCpu);
        const u0 = peerUser();
        try {
          const r = await RUNNERS[w](peers[id], env);
          r.rep = rep;
          const c1 = cpuLineTicks(peerCpu);
          if (pinningEnabled() && id !== 'direct') r.foreignPct = Math.max(0, (100 * (c1.user - c0.user - (peerUser() - u0))) / (c1.total - c0.total));
          ((results[w] ??= {})[id] ??= []).push(r);
          if (r.errors > 0) failures.push(`${w} × ${id} run ${rep + 1}: ${r.errors} errors`);
          const foreign = Number.isFinite(r.foreignPct) ? `, foreign load on peer CPU ${r.foreignPct.toFixed(0)}%` : '';
          log(`[${rep + 1}/${opts.reps}] ${w.padEnd(13)} ${id.padEnd(10)} ${brief(w, r)} (${((Date.now() - t) / 1000).toFixed(1)} s${foreign})`);
        } catch (err) {
          failures.push(`${w} × ${id} run ${rep + 1}: ${err.message.split('\n')[0]}`);
          log(`! ${w} × ${id}: ${err.message}`);
        }
      }
    }
  }

  let rssLong;
  if (workloads.includes('rss-long') && peers.mirrorgate) {
    log(`mirrorgate RSS long run: up to ${opts.rssRequests} manifest GETs, at most ${opts.rssMaxSeconds} s…`);
    try {
      await ensureServing(peers.mirrorgate, env, 'rss-long', failures);
      rssLong = await rssLongRun(peers.mirrorgate, env);
      log(
        `  ${rssLong.requests} requests in ${rssLong.seconds.toFixed(0)} s: RSS ${rssLong.rssBeforeMiB.toFixed(1)} → ${rssLong.rssHalfMiB.toFixed(1)} at half → ${rssLong.rssAfterMiB.toFixed(1)} MiB (${rssLong.rssSettledMiB.toFixed(1)} after 5 s)`,
      );
    } catch (err) {
      failures.push(`rss-long: ${err.message.split('\n')[0]}`);
    }
  }

  for (const id of active) await peers[id].stop();
  await stop(upProc);

  const minutes = ((Date.now() - t0) / 60_000).toFixed(1);
  const load = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  const meta = {
    date: new Date().toISOString().replace('T', ' ').slice(0, 16) + ' UTC',
    reps: opts.reps,
    summary: [
      `${nproc} × ${os.cpus()[0]?.model ?? 'cpu'}, Linux ${os.release()}, Node ${process.version}, ${versions.nginx}, ${versions.haproxy?.split(' - ')[0]}, ${versions.wrk?.split(' Copyright')[0]}, ${versions.curl?.split(' (')[0]}, ${versions.skopeo}.`,
      `Run: ${quick ? '--quick, ' : ''}${opts.reps} repetition(s), peers alternating; wrk/hload ${opts.warmup} s warm-up + ${opts.duration} s; 256 MiB downloads for ${opts.bigDuration} s per measurement; fleet ${opts.fleet} × skopeo; ${opts.slowCount} slow readers at ${(opts.slowRate / 1024).toFixed(0)} KiB/s each for ${opts.slowHold} s; ${minutes} min in all; load average at the end ${load}.`,
      pinningEnabled()
        ? `Pinning: every peer on CPU ${peerCpu} (one core, all its threads); upstream nginx, load generators and clients on CPU ${clientCpu}. So "direct" is the ceiling that the client side and upstream can reach on their core.`
        : 'Pinning: off (--no-pin): peers, upstream and load generators share both cores.',
      `mirrorgate: log level \`${flags['log-level']}\`, maxConnections ${ctx.maxConnections} per upstream, all other settings at their defaults (e.g. breaker, verifyDigests); ${flags['no-build'] ? 'dist/ as found (--no-build)' : 'built'} from the working tree at ${built}.`,
    ].join('\n'),
  };
  const notes = [
    'Upstreams: one nginx 1.22 process (1 worker) serving the static tree on three ports; peers spread over them 3:2:1.',
    "manifest GET / 4 KiB blob: wrk 4.1 (Debian), `-t1 -c64 --latency`; p50/p99 from wrk's latency distribution.",
    "manifest HEAD: scripts/bench/hload.mjs (Node, raw keep-alive sockets, 64 connections, one request in flight each, closed loop), because Debian's wrk 4.1 never completes a HEAD whose response carries Content-Length (wrk issue #198), and undici closes its connection after every HEAD. hload is a Node process on the client core: for fast peers the HEAD figures are bounded by it, so compare HEAD columns with each other, not with GET.",
    '"new upstream conns per 1k req": connections the upstream nginx accepted (stub_status) during the measurement, per 1000 requests: 0 means the peer reused its upstream keep-alive connections; 1000 means a new connection per request.',
    '256 MiB blob: `curl -o /dev/null` downloads in a loop (1 lane, or 8 concurrent lanes) for the set duration; MiB/s = bytes / wall time until the last download ends. Server CPU s/GiB = peer utime+stime delta (/proc/PID/stat, all processes of the peer: nginx master+worker) per GiB moved; for "direct" it is the upstream nginx itself (sendfile).',
    `500 slow readers: raw sockets each reading ≤ ${(opts.slowRate / 1024).toFixed(0)} KiB/s of the 256 MiB blob; RSS sampled from /proc/PID/status every 250 ms (sum over the peer's processes); upstream connections counted by socket inode of the peer's processes in /proc/net/tcp (ESTABLISHED, to the three upstream ports), during the read and ${opts.slowAfter} s after every client hung up, net of those already open before the run (a peer that leaks still holds the previous run's until the upstream's send_timeout, 60 s).`,
    `fleet pull: ${opts.fleet} concurrent \`skopeo copy docker://127.0.0.1:PORT/library/bench:1 oci:DIR\` (isolated policy.json/registries.conf/auth), 3 gzip layers of random data, wall time for all; skopeo runs on the client core, so this workload is largely bound by the client core.`,
    'nginx runs with its defaults apart from keepalive/buffering: with proxy_buffering off it relays through one proxy_buffer_size buffer (4 KiB here, one page), i.e. small reads and writes; that is why its big-blob MiB/s is low. haproxy uses its default tune.bufsize (16 KiB) and splicing is not enabled.',
    "Noise table: user CPU time on the peer core spent by processes other than the peer during each measurement (from /proc/stat cpuN minus the peer's utime), as % of that core: other sessions' tests share this machine, and a peer that loses its core to them loses throughput, not efficiency (CPU s/GiB stays meaningful).",
    'Runs in which the peer answered errors (non-2xx, socket errors, short downloads, readers without a 200) are left out of the medians and listed under "Skipped and failed". Before every measurement the harness checks that the peer serves a manifest (200) and waits up to 45 s for it if not (also listed there).',
    'Ratios are of medians. The machine is shared and noisy: read the ratios, not the absolute numbers.',
  ];
  const report = renderReport({ results, peers: active, meta, rssLong, skips, failures, notes });
  const out = resolve(flags.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, report);
  writeFileSync(
    out.replace(/\.md$/, '') + '.json',
    JSON.stringify({ meta, opts, peers: active, labels: PEER_LABELS, results, rssLong, skips, failures }, null, 2),
  );
  process.stdout.write(`\n${report}\n`);
  log(`report written to ${out} (raw figures in ${out.replace(/\.md$/, '')}.json)`);
}

/** Before a measurement: the peer must answer a manifest GET with 200; waits up to 45 s for it. */
async function ensureServing(peer, env, what, failures) {
  const r = await waitServing(peer, env, 45_000);
  if (r.firstStatus === 200) return;
  const msg = r.ok
    ? `${peer.id} answered ${r.firstStatus} before ${what}; waited ${r.seconds.toFixed(1)} s until it served again`
    : `${peer.id} still not serving (${r.firstStatus}) 45 s before ${what}; measuring anyway`;
  failures.push(msg);
  log(`! ${msg}`);
}

function brief(w, r) {
  const f = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '–');
  switch (w) {
    case 'manifest-get':
    case 'manifest-head':
    case 'blob4k':
      return `${f(r.rps)} req/s p50 ${f(r.p50, 2)} ms p99 ${f(r.p99, 2)} ms${r.errors ? ` errors ${r.errors}` : ''}`;
    case 'blob1m':
      return `${f(r.mibps)} MiB/s ${f(r.rps)} req/s`;
    case 'big-1':
    case 'big-8':
      return `${f(r.mibps)} MiB/s, ${f(r.cpuPerGiB, 3)} CPU s/GiB, ${r.downloads} downloads${r.errors ? ` errors ${r.errors}` : ''}`;
    case 'fleet':
      return `${f(r.wall, 2)} s${r.errors ? ` errors ${r.errors}` : ''}`;
    case 'slow500':
      return `RSS ${f(r.rssBeforeMiB, 1)} → peak ${f(r.rssPeakMiB, 1)} MiB, ${r.readers200} readers got 200, serves again after ${f(r.servesAgainS, 1)} s, upstream conns ${r.connsDuring} during, +${r.connsAfter} after (raw: ${r.connsBefore} before, ${r.connsAfterRaw} after ${JSON.stringify(r.connsAfterStates)})`;
    default:
      return JSON.stringify(r);
  }
}

try {
  await main();
  await cleanup();
  process.exit(0);
} catch (err) {
  log(`bench failed: ${err.stack ?? err}`);
  await cleanup();
  process.exit(1);
}
