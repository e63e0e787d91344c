#!/usr/bin/env node
/**
 * `npm run bench [-- flags]`: mirrorgate against nginx, haproxy, an http-proxy gateway, a bare
 * node:http + undici relay and a direct connection, all in front of the same three static nginx upstreams (weights 3:2:1),
 * everything on 127.0.0.1. See scripts/bench/README.md.
 *
 * flags:
 *   --quick                 1 repetition, short durations (smoke run)
 *   --only=a,b              peers: mirrorgate,bare,nginx,nginx-buf,haproxy,http-proxy,direct
 *                           (and mirrorgate-noverify, mirrorgate-baseline, only when named here;
 *                           mirrorgate-cache, nginx-cache, distribution, nginx-static: the
 *                           caching peers, also started when a cache workload needs them)
 *   --workloads=a,b         manifest-get,manifest-head,blob4k,blob1m,big-1,big-8,fleet,slow500,rss-long
 *                           (default: all but blob1m and the cache workloads), and the cache
 *                           workloads (issue 9; `cache` = all of them): cache-manifest-get,
 *                           cache-big-1, cache-big-8, cache-slow500 (on mirrorgate-cache, nginx,
 *                           nginx-static), fleet-wan (mirrorgate-cache, nginx, nginx-cache,
 *                           distribution behind a shaped WAN; --only filters these too)
 *   --out=FILE              markdown report (default scripts/bench/results.md; raw JSON beside it)
 *   --reps=N                repetitions of each workload, peers alternating (default 3, quick 1)
 *   --duration=S            wrk/hload measurement seconds (default 4, quick 2)
 *   --warmup=S              warm-up seconds before each wrk/hload measurement (default 1, quick 0.5)
 *   --big-duration=S        seconds of 256 MiB downloads per measurement (default 4, quick 2)
 *   --fleet=N               concurrent skopeo copies (default 20)
 *   --wan-fleet=N           fleet-wan: concurrent skopeo copies per round (default 12)
 *   --wan-rates=a,b,c       fleet-wan: the mirrors' link rates in MiB/s (default 60,40,20)
 *   --wan-rtt=MS            fleet-wan: round-trip time added by the shaper (default 20)
 *   --wan-layers=a[,b…]     fleet-wan: the image's layer sizes in MiB (default 96: one layer; the
 *                           old 48,32,16 was in the ratio of the mirror rates)
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
import { CACHE_RUNNERS, CACHE_WORKLOADS, cacheSkipReason } from './cache-workloads.mjs';
import { WAN_DEFAULTS, WAN_PEERS, fleetWanRun, setupWan } from './fleet-wan.mjs';
import { OPTIONAL_PEER_IDS, PEER_IDS, PEER_LABELS, startPeer } from './peers.mjs';
import { CLK_TCK, childPids, cpuLineTicks, userTicks, freePort, pinningEnabled, run, setPinning, start, stop, stopAll, waitHttp } from './procs.mjs';
import { renderReport } from './report.mjs';
import {
  DEFAULT_WORKLOADS,
  RUNNERS as RELAY_RUNNERS,
  WORKLOADS as RELAY_WORKLOADS,
  preflight,
  rssLongRun,
  skipReason as relaySkipReason,
  waitServing,
} from './workloads.mjs';

const WORKLOADS = { ...RELAY_WORKLOADS, ...CACHE_WORKLOADS };
const RUNNERS = { ...RELAY_RUNNERS, ...CACHE_RUNNERS };
const skipReason = (w, id) => relaySkipReason(w, id) ?? cacheSkipReason(w, id);
/** `--workloads=cache`: every cache workload (opt-in: none of them is in the default set). */
const CACHE_ALIAS = [...Object.keys(CACHE_WORKLOADS), 'fleet-wan'];

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
    'wan-fleet': { type: 'string' },
    'wan-rates': { type: 'string' },
    'wan-rtt': { type: 'string' },
    'wan-layers': { type: 'string' },
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
  wanFleet: Math.max(1, Math.round(num('wan-fleet', WAN_DEFAULTS.fleet, WAN_DEFAULTS.fleet))),
};
const numbers = (name, dflt, count = 3) => {
  if (flags[name] === undefined) return dflt;
  const xs = flags[name].split(',').map(Number);
  const fits = count === undefined ? xs.length >= 1 : xs.length === count;
  if (!fits || !xs.every((x) => Number.isFinite(x) && x > 0)) throw new Error(`--${name}: ${count ?? 'one or more'} positive numbers, got ${flags[name]}`);
  return xs;
};
const wanOpts = {
  ratesMiB: numbers('wan-rates', WAN_DEFAULTS.ratesMiB),
  layerMiB: numbers('wan-layers', WAN_DEFAULTS.layerMiB, undefined),
  rttMs: num('wan-rtt', WAN_DEFAULTS.rttMs, WAN_DEFAULTS.rttMs),
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
const allWorkloads = [...Object.keys(WORKLOADS), 'fleet-wan', 'rss-long'];
const workloads = list(flags.workloads?.replace(/(^|,)\s*cache\s*(?=,|$)/, `$1${CACHE_ALIAS.join(',')}`), allWorkloads, 'workload') ?? [
  ...DEFAULT_WORKLOADS,
  'rss-long',
];
const repeated = Object.keys(WORKLOADS).filter((w) => workloads.includes(w));
const onlyPeers = list(flags.only, [...PEER_IDS, ...OPTIONAL_PEER_IDS], 'peer');
// Without --only: the default peers, plus the caching ones when a cache-hit workload asks for
// them, minus any peer that none of the chosen workloads would run on.
// (A peer named in --only for fleet-wan alone is started by fleet-wan only.)
const runsSomething = (id) => repeated.some((w) => !skipReason(w, id)) || (id === 'mirrorgate' && workloads.includes('rss-long'));
const defaultPeers = [...PEER_IDS, ...(repeated.some((w) => w in CACHE_WORKLOADS) ? ['mirrorgate-cache', 'nginx-static'] : [])];
const peerIds = (onlyPeers ?? defaultPeers).filter(runsSomething);
const wanPeers = workloads.includes('fleet-wan') ? WAN_PEERS.filter((id) => onlyPeers === undefined || onlyPeers.includes(id)) : [];
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
    'docker-registry': tool('docker-registry', ['--version']),
  };
  const needed = {
    nginx: true,
    wrk: true,
    curl: true,
    haproxy: peerIds.includes('haproxy'),
    skopeo: workloads.includes('fleet') || wanPeers.length > 0,
    taskset: pinningEnabled(),
    'docker-registry': wanPeers.includes('distribution') || peerIds.includes('distribution'),
  };
  const missing = Object.keys(needed).filter((t) => needed[t] && versions[t] === undefined);
  if (missing.length > 0) throw new Error(`missing tools: ${missing.join(', ')} (apt-get install nginx-light haproxy wrk curl skopeo docker-registry)`);
  const clk = Number(tool('getconf', ['CLK_TCK']));
  if (clk !== CLK_TCK) throw new Error(`CLK_TCK is ${clk}, the harness assumes ${CLK_TCK}`);

  const git = (args) => spawnSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).stdout?.trim() ?? '';
  const commit = git(['rev-parse', '--short', 'HEAD']) || 'unknown';
  const dirty = git(['status', '--porcelain', '--', 'src']).split('\n').filter(Boolean).length;
  const built = `commit ${commit}${dirty ? ` + ${dirty} modified file(s) under src/` : ''}`;
  if (!flags['no-build'] && [...peerIds, ...wanPeers].some((id) => id.startsWith('mirrorgate'))) {
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
    www,
    tree,
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
  if (active.length === 0 && wanPeers.length === 0) throw new Error('no peer started');

  const env = { tree, opts, dir: workDir, repoRoot, upstreamPorts, clientCpu, log };
  const results = {};
  let wan;
  if (wanPeers.length > 0) {
    const tw = Date.now();
    wan = await setupWan(env, wanOpts);
    log(
      `fleet-wan: image ${(wan.imageBytes / 2 ** 20).toFixed(1)} MiB in ${wan.blobs.length - 1} layers + config, mirrors at ${wanOpts.ratesMiB.join('/')} MiB/s behind the shaper (${wanOpts.rttMs} ms RTT), T_min ${wan.tminS.toFixed(2)} s; set up in ${Date.now() - tw} ms`,
    );
  }
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
    if (wan) await fleetWanRep(rep, wan, env, ctx, results, failures);
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
  await wan?.stop();
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
  // [workloads the note is about (undefined: every run), text]; only the notes of what ran are printed.
  const notes = [
    [undefined, 'Upstreams: one nginx 1.22 process (1 worker) serving the static tree on three ports; peers spread over them 3:2:1.'],
    [['manifest-get', 'blob4k', 'blob1m'], "manifest GET / 4 KiB blob: wrk 4.1 (Debian), `-t1 -c64 --latency`; p50/p99 from wrk's latency distribution."],
    [
      ['manifest-head'],
      "manifest HEAD: scripts/bench/hload.mjs (Node, raw keep-alive sockets, 64 connections, one request in flight each, closed loop), because Debian's wrk 4.1 never completes a HEAD whose response carries Content-Length (wrk issue #198), and undici closes its connection after every HEAD. hload is a Node process on the client core: for fast peers the HEAD figures are bounded by it, so compare HEAD columns with each other, not with GET.",
    ],
    [
      ['manifest-get', 'manifest-head', 'blob4k'],
      '"new upstream conns per 1k req": connections the upstream nginx accepted (stub_status) during the measurement, per 1000 requests: 0 means the peer reused its upstream keep-alive connections; 1000 means a new connection per request.',
    ],
    [
      ['big-1', 'big-8', 'cache-big-1', 'cache-big-8'],
      '256 MiB blob: `curl -o /dev/null` downloads in a loop (1 lane, or 8 concurrent lanes) for the set duration; MiB/s = bytes / wall time until the last download ends. Server CPU s/GiB = peer utime+stime delta (/proc/PID/stat, all processes of the peer: nginx master+worker) per GiB moved; for "direct" it is the upstream nginx itself (sendfile).',
    ],
    [
      ['slow500', 'cache-slow500'],
      `500 slow readers: raw sockets each reading ≤ ${(opts.slowRate / 1024).toFixed(0)} KiB/s of the 256 MiB blob; RSS sampled from /proc/PID/status every 250 ms (sum over the peer's processes); upstream connections counted by socket inode of the peer's processes in /proc/net/tcp (ESTABLISHED, to the three upstream ports), during the read and ${opts.slowAfter} s after every client hung up, net of those already open before the run (a peer that leaks still holds the previous run's until the upstream's send_timeout, 60 s).`,
    ],
    [
      ['fleet'],
      `fleet pull: ${opts.fleet} concurrent \`skopeo copy docker://127.0.0.1:PORT/library/bench:1 oci:DIR\` (isolated policy.json/registries.conf/auth), 3 gzip layers of random data, wall time for all; skopeo runs on the client core, so this workload is largely bound by the client core.`,
    ],
    [
      undefined,
      'nginx runs with its defaults apart from keepalive/buffering: with proxy_buffering off it relays through one proxy_buffer_size buffer (4 KiB here, one page), i.e. small reads and writes; that is why its big-blob MiB/s is low. haproxy uses its default tune.bufsize (16 KiB) and splicing is not enabled.',
    ],
    [
      undefined,
      "Noise table: user CPU time on the peer core spent by processes other than the peer during each measurement (from /proc/stat cpuN minus the peer's utime), as % of that core: other sessions' tests share this machine, and a peer that loses its core to them loses throughput, not efficiency (CPU s/GiB stays meaningful).",
    ],
    [
      undefined,
      'Runs in which the peer answered errors (non-2xx, socket errors, short downloads, readers without a 200) are left out of the medians and listed under "Skipped and failed". Before every measurement the harness checks that the peer serves a manifest (200) and waits up to 45 s for it if not (also listed there).',
    ],
    [undefined, 'Ratios are of medians. The machine is shared and noisy: read the ratios, not the absolute numbers.'],
    [['cache-manifest-get', 'cache-big-1', 'cache-big-8', 'cache-slow500'], CACHE_NOTE],
  ]
    .filter(([about]) => about === undefined || about.some((w) => workloads.includes(w)))
    .map(([, text]) => text);
  if (wan) notes.push(...wanNotes(wan));
  const reported = [...active, ...wanPeers.filter((id) => !active.includes(id))];
  const report = renderReport({ results, peers: reported, meta, rssLong, skips, failures, notes });
  const out = resolve(flags.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, report);
  writeFileSync(
    out.replace(/\.md$/, '') + '.json',
    JSON.stringify(
      {
        meta,
        opts,
        wan: wan && { ...wanOpts, imageBytes: wan.imageBytes, tminS: wan.tminS },
        peers: reported,
        labels: PEER_LABELS,
        results,
        rssLong,
        skips,
        failures,
      },
      null,
      2,
    ),
  );
  process.stdout.write(`\n${report}\n`);
  log(`report written to ${out} (raw figures in ${out.replace(/\.md$/, '')}.json)`);
}

const CACHE_NOTE =
  'Cache-hit workloads (cache-*): before each measurement the object is fetched twice through the peer (curl) and the second answer\'s X-Cache kept (mirrorgate-cache must say HIT); "upstream requests" = requests the upstream nginx served during the measurement (stub_status, the harness\'s own status reads excluded) — 0 means every answer came from the cache. mirrorgate-cache = mirrorgate with `cache: { dir, maxSize: 4GiB, tags: { ttl: 1h } }`, everything else at its defaults (verifyDigests on); nginx-static = nginx serving the fixture files itself with sendfile, pinned like the peers: the cost of a blob that is a local file and nothing more.';

/** One repetition of fleet-wan: every WAN peer once (cold + warm), the rotation one further each repetition. */
async function fleetWanRep(rep, wan, env, ctx, results, failures) {
  const order = wanPeers.map((_, i) => wanPeers[(i + rep) % wanPeers.length]);
  for (const id of order) {
    const t = Date.now();
    try {
      const r = await fleetWanRun(id, wan, env, ctx, join(env.dir, 'wan', 'runs', `${id}-${rep}`));
      r.rep = rep;
      r.loadAvg1 = os.loadavg()[0];
      ((results['fleet-wan'] ??= {})[id] ??= []).push(r);
      if (r.errors > 0) failures.push(`fleet-wan × ${id} run ${rep + 1}: ${r.errors} of ${r.pulls} pulls failed or had a wrong blob`);
      if (r.logProblems > 0) failures.push(`fleet-wan × ${id} run ${rep + 1}: ${r.logProblems} warning/error log lines, e.g. ${r.logSample[0]?.slice(0, 300)}`);
      log(
        `[${rep + 1}/${opts.reps}] fleet-wan     ${id.padEnd(16)} ${brief('fleet-wan', r)} (${((Date.now() - t) / 1000).toFixed(1)} s, load average ${r.loadAvg1.toFixed(1)})`,
      );
    } catch (err) {
      failures.push(`fleet-wan × ${id} run ${rep + 1}: ${err.message.split('\n')[0]}`);
      log(`! fleet-wan × ${id}: ${err.stack ?? err.message}`);
    }
  }
}

function wanNotes(wan) {
  return [
    `fleet-wan: ${opts.wanFleet} concurrent \`skopeo copy docker://… dir:DIR\` (isolated policy/registries.conf/auth), cold (each peer started afresh with an empty cache dir) then warm (right after, same process). Image: config + ${wan.blobs.length - 1} gzip layers of random data, ${(wan.imageBytes / 2 ** 20).toFixed(1)} MiB; T_min = image bytes ÷ summed mirror rate (${wanOpts.ratesMiB.join('+')} MiB/s) = ${wan.tminS.toFixed(2)} s.`,
    `fleet-wan shaping: scripts/bench/wan-shaper.mjs, a user-space TCP relay per mirror on the client CPU — one virtual link clock per mirror shared by all its connections (${wanOpts.ratesMiB.join('/')} MiB/s, 64 KiB burst), ${wanOpts.rttMs / 2} ms one-way delay each way plus one RTT before a new connection carries data. Kernel shaping was not used: this kernel has tbf and htb but no netem (CONFIG_NET_SCH_NETEM not set, no modules), so the RTT cannot be made with tc.`,
    'fleet-wan counts: "upstream bytes" = $body_bytes_sent of every response the mirrors (one nginx, three ports, access log) sent during the round, ÷ the image size; "shaped" = bytes the shaper delivered; "GETs per blob" = 200/206 GETs of the busiest blob; a pull is correct when every blob of the image is in its dir: copy under its name with that sha256 and size.',
    'fleet-wan peers: mirrorgate-cache (cache on, weights 3:2:1, tags kept 1 h); nginx (upstream LB, no cache); nginx-cache (proxy_cache keyed by $uri, proxy_cache_lock on, lock_timeout/lock_age 880 s, weights 3:2:1); distribution 2.8 (docker-registry, proxy.remoteurl = the 60 MiB/s mirror only: it takes one remote).',
  ];
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
    case 'cache-manifest-get':
      return `${f(r.rps)} req/s p50 ${f(r.p50, 2)} ms p99 ${f(r.p99, 2)} ms, upstream req/1k ${f(r.upReqPer1k, 1)}, warm X-Cache ${r.hit ? 'HIT' : 'not HIT'}${r.errors ? ` errors ${r.errors}` : ''}`;
    case 'cache-big-1':
    case 'cache-big-8':
      return `${f(r.mibps)} MiB/s, ${f(r.cpuPerGiB, 3)} CPU s/GiB, ${r.downloads} downloads, upstream requests ${r.upstreamRequests}${r.errors ? ` errors ${r.errors}` : ''}`;
    case 'cache-slow500':
      return `RSS ${f(r.rssBeforeMiB, 1)} → peak ${f(r.rssPeakMiB, 1)} MiB, ${r.readers200} readers got 200, upstream requests ${r.upstreamRequests}, upstream conns ${r.connsDuring} during`;
    case 'fleet-wan':
      return `single cold ${f(r.singleWall, 2)} s wall, WAN ${f(r.singleWanS, 2)} s (${f(r.singleWanTmin, 2)}× T_min), shares ${r.singleShares} %; cold WAN ${f(r.coldWanS, 2)} s (${f(r.coldWanTmin, 2)}× T_min), shares ${r.coldShares} %; cold ${f(r.coldWall, 2)} s (${f(r.coldTmin, 2)}× T_min), warm ${f(r.warmWall, 2)} s; cold upstream ${f(r.coldUpX, 2)}× image (shaped ${f(r.coldShapedX, 2)}×, per mirror ${r.coldPerMirrorMiB.join('/')} MiB, GETs per blob ${r.coldLayerGets}), warm upstream blob bytes ${f(r.warmUpBlobMiB, 1)} MiB; ${r.correct}/${r.pulls} pulls correct; peak RSS ${f(r.rssPeakMiB, 0)} MiB; peer CPU ${f(r.coldCpuS, 1)}/${f(r.warmCpuS, 1)} s and ${f(r.coldSyscalls)}/${f(r.warmSyscalls)} read+write syscalls cold/warm, foreign load on its core ≤ ${f(r.foreignPct)}%${r.logProblems ? `; ${r.logProblems} warn/error log lines` : ''}`;
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
