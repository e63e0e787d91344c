/**
 * The workloads. Each takes (peer, env) and resolves to a flat object of named figures for one
 * run; `env` = { tree, opts, dir, repoRoot, upstreamPorts, clientCpu, log }.
 * Load generators (wrk, hload, curl, skopeo, the slow readers) run on the client CPU.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLK_TCK, httpRequest, run, sleep, start, stop, sumCpu, sumRss, upstreamConnections } from './procs.mjs';
import { MEDIA } from './fixtures.mjs';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const ACCEPT_MANIFEST = `Accept: ${MEDIA.manifest}`;

/** Workload id -> description; order is the run order within one repetition. */
export const WORKLOADS = {
  'manifest-get': 'manifest GET by tag, wrk -t1 -c64',
  'manifest-head': 'manifest HEAD by tag, hload (undici) 64 connections',
  blob4k: '4 KiB blob GET, wrk -t1 -c64',
  blob1m: '1 MiB blob GET, wrk -t1 -c16 (opt-in)',
  'big-1': '256 MiB blob, 1 stream (curl, sequential downloads)',
  'big-8': '256 MiB blob, 8 concurrent streams (8 curl lanes)',
  fleet: 'fleet pull: N concurrent skopeo copy of a 3-layer image',
  slow500: '500 slow readers of the 256 MiB blob; RSS and upstream connections',
};
export const DEFAULT_WORKLOADS = ['manifest-get', 'manifest-head', 'blob4k', 'big-1', 'big-8', 'fleet', 'slow500'];

// ---------------------------------------------------------------------------------------------
// wrk
// ---------------------------------------------------------------------------------------------

function toMs(value, unit) {
  const n = Number(value);
  return unit === 'us' ? n / 1000 : unit === 'ms' ? n : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : NaN;
}

function toBytes(value, unit) {
  const mult = { B: 1, KB: 1024, MB: MiB, GB: GiB, TB: 1024 * GiB }[unit];
  return Number(value) * (mult ?? NaN);
}

export function parseWrk(text) {
  const num = (re) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : NaN;
  };
  const pct = (p) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(text);
    return m ? toMs(m[1], m[2]) : NaN;
  };
  const transfer = /^Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB|TB)/m.exec(text);
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return {
    requests: num(/^\s*(\d+) requests in/m),
    rps: num(/^Requests\/sec:\s+([\d.]+)/m),
    bytesPerSec: transfer ? toBytes(transfer[1], transfer[2]) : NaN,
    p50: pct(50),
    p99: pct(99),
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/) || 0,
    socketErrors: errs ? errs.slice(1).reduce((a, n) => a + Number(n), 0) : 0,
  };
}

export async function wrk(env, url, { connections, seconds, headers = [], script, scriptEnv, timeoutMs } = {}) {
  // wrk takes whole seconds only.
  const argv = ['wrk', '-t1', `-c${connections}`, `-d${Math.max(1, Math.round(seconds))}s`, '--latency', '--timeout', '5s'];
  for (const h of headers) argv.push('-H', h);
  if (script) argv.push('-s', script);
  argv.push(url);
  const res = await run('wrk', argv, {
    cpu: env.clientCpu,
    timeoutMs: timeoutMs ?? (seconds + 15) * 1000,
    env: { ...process.env, ...scriptEnv },
  });
  if (res.code !== 0) throw new Error(`wrk failed (${res.code ?? res.signal}): ${res.stderr || res.stdout}`);
  return parseWrk(res.stdout);
}

/** Connections the upstream nginx has accepted so far (stub_status), over all three ports. */
export async function upstreamAccepts(env) {
  return (await upstreamCounters(env)).accepts;
}

/** stub_status of the upstream nginx: connections accepted and requests served so far (both include this one). */
export async function upstreamCounters(env) {
  const r = await httpRequest(`http://127.0.0.1:${env.upstreamPorts[0]}/_upstream_status`);
  const m = /\n\s*(\d+)\s+(\d+)\s+(\d+)/.exec(r.body.toString());
  return m ? { accepts: Number(m[1]), requests: Number(m[3]) } : { accepts: NaN, requests: NaN };
}

export async function wrkWorkload(peer, env, path, connections, headers = []) {
  const url = `http://127.0.0.1:${peer.port}${path}`;
  const { warmup, duration } = env.opts;
  if (warmup > 0) await wrk(env, url, { connections, seconds: warmup, headers });
  const a0 = await upstreamAccepts(env);
  const r = await wrk(env, url, { connections, seconds: duration, headers });
  const accepted = (await upstreamAccepts(env)) - a0 - 1; // minus the stub_status request itself
  return {
    requests: r.requests,
    rps: r.rps,
    p50: r.p50,
    p99: r.p99,
    mibps: r.bytesPerSec / MiB,
    upConnsPer1k: (accepted / r.requests) * 1000,
    errors: r.non2xx + r.socketErrors,
  };
}

// ---------------------------------------------------------------------------------------------
// workloads
// ---------------------------------------------------------------------------------------------

export async function manifestGet(peer, env) {
  return wrkWorkload(peer, env, env.tree.paths.manifestByTag, 64, [ACCEPT_MANIFEST]);
}

export async function blob4k(peer, env) {
  return wrkWorkload(peer, env, env.tree.paths.blob4k, 64);
}

export async function blob1m(peer, env) {
  return wrkWorkload(peer, env, env.tree.paths.blob1m, 16);
}

export async function manifestHead(peer, env) {
  const { warmup, duration } = env.opts;
  const argv = [
    process.execPath,
    join(env.repoRoot, 'scripts', 'bench', 'hload.mjs'),
    '--url',
    `http://127.0.0.1:${peer.port}${env.tree.paths.manifestByTag}`,
    '--method',
    'HEAD',
    '--connections',
    '64',
    '--duration',
    String(duration),
    '--warmup',
    String(warmup),
    '--header',
    ACCEPT_MANIFEST,
  ];
  const a0 = await upstreamAccepts(env);
  const res = await run('hload', argv, { cpu: env.clientCpu, timeoutMs: (warmup + duration + 20) * 1000, cwd: env.repoRoot });
  if (res.code !== 0) throw new Error(`hload failed (${res.code ?? res.signal}): ${res.stderr}`);
  const r = JSON.parse(res.stdout.trim().split('\n').pop());
  // Counted over warm-up + measurement, so per request over the requests of both (approximately).
  const accepted = (await upstreamAccepts(env)) - a0 - 1;
  const total = r.requests * ((warmup + duration) / duration);
  return { rps: r.rps, p50: r.p50, p99: r.p99, upConnsPer1k: (accepted / total) * 1000, errors: r.bad + r.errors };
}

/** `lanes` concurrent curl loops downloading the big blob until `duration` has passed. */
export async function bigBlob(peer, env, lanes) {
  const url = `http://127.0.0.1:${peer.port}${env.tree.paths.blobBig}`;
  const expected = env.tree.bigBlobBytes;
  const seconds = env.opts.bigDuration;
  const cpu0 = sumCpu(peer.pids());
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  let bytes = 0;
  let downloads = 0;
  let errors = 0;
  const lane = async () => {
    do {
      const res = await run('curl', ['curl', '-s', '-o', '/dev/null', '--max-time', '60', '-w', '%{http_code} %{size_download}', url], {
        cpu: env.clientCpu,
        timeoutMs: 65_000,
      });
      const [code, size] = res.stdout.trim().split(' ').map(Number);
      bytes += Number.isFinite(size) ? size : 0;
      downloads += 1;
      if (res.code !== 0 || code !== 200 || size !== expected) errors += 1;
    } while (performance.now() < deadline);
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  const secs = (performance.now() - t0) / 1000;
  const cpuSeconds = (sumCpu(peer.pids()) - cpu0) / CLK_TCK;
  return { mibps: bytes / MiB / secs, cpuPerGiB: cpuSeconds / (bytes / GiB), downloads, errors };
}

export const big1 = (peer, env) => bigBlob(peer, env, 1);
export const big8 = (peer, env) => bigBlob(peer, env, 8);

/** N concurrent `skopeo copy` of library/bench:1 through the peer into separate OCI layouts. */
export async function fleet(peer, env) {
  const n = env.opts.fleet;
  const root = join(env.dir, 'fleet', `${peer.id}-${Date.now()}`);
  const src = `docker://127.0.0.1:${peer.port}/${env.tree.repo}:${env.tree.tag}`;
  const { wall, results } = await skopeoCopies(env, src, root, n, (i) => `oci:${join(root, `dest-${i}`)}:${env.tree.tag}`);
  const failed = results.filter((r) => r.code !== 0);
  if (failed.length > 0) env.log(`  fleet via ${peer.id}: ${failed.length}/${n} skopeo copies failed: ${failed[0].stderr.trim().split('\n').pop()}`);
  rmSync(root, { recursive: true, force: true });
  return { wall, errors: failed.length };
}

/**
 * `n` concurrent `skopeo copy SRC DEST(i)` with an isolated policy.json, registries.conf and
 * auth file under `root` (so nothing of the host's container config takes part), on the client
 * CPU. Resolves { wall (seconds until the last copy ended), results (run() results) }.
 */
export async function skopeoCopies(env, src, root, n, destFor, timeoutMs = 120_000) {
  const sandbox = join(root, 'sandbox');
  for (const d of ['home', 'run', 'config', 'registries.d', 'tmp', 'certs.d']) mkdirSync(join(sandbox, d), { recursive: true });
  const policy = join(sandbox, 'policy.json');
  const registriesConf = join(sandbox, 'registries.conf');
  const authFile = join(sandbox, 'auth.json');
  writeFileSync(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  writeFileSync(registriesConf, '# empty: no search registries, no mirrors, no aliases\n');
  writeFileSync(authFile, JSON.stringify({ auths: {} }));
  const skopeoEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: join(sandbox, 'home'),
    TMPDIR: join(sandbox, 'tmp'),
    XDG_RUNTIME_DIR: join(sandbox, 'run'),
    XDG_CONFIG_HOME: join(sandbox, 'config'),
    CONTAINERS_REGISTRIES_CONF: registriesConf,
    REGISTRY_AUTH_FILE: authFile,
    DOCKER_CONFIG: join(sandbox, 'home', '.docker'),
    NO_PROXY: '127.0.0.1,localhost,::1',
    no_proxy: '127.0.0.1,localhost,::1',
    LANG: 'C',
  };
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      run(
        'skopeo',
        [
          'skopeo',
          '--policy',
          policy,
          '--registries-conf',
          registriesConf,
          '--registries.d',
          join(sandbox, 'registries.d'),
          '--tmpdir',
          join(sandbox, 'tmp'),
          'copy',
          '--retry-times',
          '0',
          '--src-tls-verify=false',
          '--src-cert-dir',
          join(sandbox, 'certs.d'),
          src,
          destFor(i),
        ],
        { cpu: env.clientCpu, env: skopeoEnv, timeoutMs },
      ),
    ),
  );
  return { wall: (performance.now() - t0) / 1000, results };
}

/**
 * 500 slow readers of the big blob through the peer: peak RSS while they read, then the
 * upstream connections the peer still holds 5 s after they all hung up.
 */
export async function slow500(peer, env) {
  const { slowCount, slowRate, slowHold, slowAfter } = env.opts;
  const pids = peer.pids();
  const rssBefore = sumRss(pids);
  const connsBefore = upstreamConnections(pids, env.upstreamPorts).established;
  const client = start(
    'slowread',
    [
      process.execPath,
      join(env.repoRoot, 'scripts', 'bench', 'slowread.mjs'),
      '--port',
      String(peer.port),
      '--path',
      env.tree.paths.blobBig,
      '--count',
      String(slowCount),
      '--rate',
      String(slowRate),
      '--max-hold',
      String(slowHold + 60),
    ],
    { cpu: env.clientCpu, capture: true, stdin: 'pipe', timeoutMs: (slowHold + 90) * 1000 },
  );
  let peak = rssBefore;
  const sample = () => {
    peak = Math.max(peak, sumRss(peer.pids()));
  };
  const readyDeadline = Date.now() + 30_000;
  while (!client.stdout.includes('"ready"') && Date.now() < readyDeadline && client.child.exitCode === null) {
    sample();
    await sleep(100);
  }
  const readyLine = client.stdout.split('\n').find((l) => l.includes('"ready"'));
  const ready = readyLine ? JSON.parse(readyLine) : { status200: 0, failed: slowCount };
  const holdUntil = Date.now() + slowHold * 1000;
  while (Date.now() < holdUntil) {
    sample();
    await sleep(250);
  }
  sample();
  const during = upstreamConnections(peer.pids(), env.upstreamPorts);
  const rssDuring = sumRss(peer.pids());
  client.child.stdin.write('hangup\n');
  await Promise.race([client.exited, sleep(5000)]);
  await stop(client, 1000);
  await sleep(slowAfter * 1000);
  const after = upstreamConnections(peer.pids(), env.upstreamPorts);
  const rssAfter = sumRss(peer.pids());
  // Does the peer still serve? (A gateway that counts client hang-ups as upstream faults opens
  // its breakers here.) Probed from the connection count on, until a 200 or 45 s.
  const recovery = await waitServing(peer, env, 45_000);
  return {
    servesAgainS: slowAfter + recovery.seconds,
    servedAtOnce: recovery.firstStatus === 200 ? 1 : 0,
    rssBeforeMiB: rssBefore / 1024,
    rssPeakMiB: peak / 1024,
    rssDuringMiB: rssDuring / 1024,
    rssAfterMiB: rssAfter / 1024,
    readers200: ready.status200,
    errors: slowCount - ready.status200,
    // After: net of what was open before (a peer that leaks may still hold the previous run's).
    connsBefore,
    connsDuring: during.established,
    connsAfter: Math.max(0, after.established - connsBefore),
    connsDuringRaw: during.established,
    connsAfterRaw: after.established,
    connsAfterTotal: after.total,
    connsAfterStates: after.byState,
  };
}

/**
 * Polls a manifest GET through the peer every 0.5 s until it answers 200 or `timeoutMs` passes.
 * Resolves { seconds (until the 200, or the timeout), firstStatus, ok }.
 */
export async function waitServing(peer, env, timeoutMs) {
  const t0 = performance.now();
  let firstStatus;
  for (;;) {
    let status = 0;
    try {
      status = (await httpRequest(`http://127.0.0.1:${peer.port}${env.tree.paths.manifestByTag}`, { headers: { accept: MEDIA.manifest }, timeoutMs: 2000 }))
        .status;
    } catch {
      status = 0;
    }
    firstStatus ??= status;
    const seconds = (performance.now() - t0) / 1000;
    if (status === 200) return { seconds, firstStatus, ok: true };
    if (seconds * 1000 >= timeoutMs) return { seconds, firstStatus, ok: false };
    await sleep(500);
  }
}

/** mirrorgate only: RSS before/after `rssRequests` manifest GETs (or as many as fit in rssMaxSeconds). */
export async function rssLongRun(peer, env) {
  const { rssRequests, rssMaxSeconds } = env.opts;
  const script = join(env.dir, 'count-stop.lua');
  writeFileSync(
    script,
    [
      '-- stop after BENCH_LIMIT responses (wrk -t1: one thread sees them all)',
      'local n = 0',
      'local limit = tonumber(os.getenv("BENCH_LIMIT"))',
      'function response(status, headers, body)',
      '  n = n + 1',
      '  if n >= limit then wrk.thread:stop() end',
      'end',
      '',
    ].join('\n'),
  );
  const url = `http://127.0.0.1:${peer.port}${env.tree.paths.manifestByTag}`;
  // A short settle run so that "before" is after JIT warm-up and pool creation, not startup.
  await wrk(env, url, { connections: 64, seconds: 2, headers: [ACCEPT_MANIFEST] });
  await sleep(1000);
  const before = sumRss(peer.pids());
  const samples = []; // [seconds since start, KiB]
  const t0 = performance.now();
  let running = true;
  const sampling = (async () => {
    while (running) {
      samples.push([(performance.now() - t0) / 1000, sumRss(peer.pids())]);
      await sleep(500);
    }
  })();
  const r = await wrk(env, url, {
    connections: 64,
    seconds: rssMaxSeconds,
    headers: [ACCEPT_MANIFEST],
    script,
    scriptEnv: { BENCH_LIMIT: String(rssRequests) },
    timeoutMs: (rssMaxSeconds + 30) * 1000,
  }).finally(() => {
    running = false;
  });
  await sampling;
  const right = sumRss(peer.pids());
  const elapsed = (performance.now() - t0) / 1000;
  const at = (frac) => {
    const s = samples.find(([t]) => t >= frac * elapsed) ?? samples[samples.length - 1];
    return s ? s[1] : NaN;
  };
  await sleep(5000);
  const settled = sumRss(peer.pids());
  return {
    requests: r.requests,
    rps: r.rps,
    errors: r.non2xx + r.socketErrors,
    seconds: elapsed,
    rssBeforeMiB: before / 1024,
    rssQuarterMiB: at(0.25) / 1024,
    rssHalfMiB: at(0.5) / 1024,
    rssPeakMiB: Math.max(right, ...samples.map(([, k]) => k)) / 1024,
    rssAfterMiB: right / 1024,
    rssSettledMiB: settled / 1024,
  };
}

export const RUNNERS = {
  'manifest-get': manifestGet,
  'manifest-head': manifestHead,
  blob4k,
  blob1m,
  'big-1': big1,
  'big-8': big8,
  fleet,
  slow500,
};

/** Which peers a workload does not apply to, and why. */
export function skipReason(workload, peerId) {
  if (workload === 'slow500' && peerId === 'direct') return 'no gateway: the clients are the upstream connections';
  if (workload === 'slow500' && peerId === 'nginx-buf') return 'proxy_buffering on would spool up to 500 × 256 MiB to temp files (proxy_max_temp_file_size 1g)';
  return undefined;
}

/** A quick correctness check of one peer before any load: statuses, media type, digests. */
export async function preflight(peer, tree) {
  const base = `http://127.0.0.1:${peer.port}`;
  const problems = [];
  const sha = (b) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  for (const path of [tree.paths.manifestByTag, tree.paths.manifestByDigest]) {
    const r = await httpRequest(base + path, { headers: { accept: MEDIA.manifest } });
    if (r.status !== 200) problems.push(`GET ${path}: status ${r.status}`);
    else {
      if (!String(r.headers['content-type']).startsWith(MEDIA.manifest)) problems.push(`GET ${path}: content-type ${r.headers['content-type']}`);
      if (r.headers['docker-content-digest'] !== tree.manifestDigest) problems.push(`GET ${path}: docker-content-digest ${r.headers['docker-content-digest']}`);
      if (sha(r.body) !== tree.manifestDigest) problems.push(`GET ${path}: body digest mismatch`);
    }
  }
  const head = await httpRequest(base + tree.paths.manifestByTag, { method: 'HEAD', headers: { accept: MEDIA.manifest } });
  if (head.status !== 200 || Number(head.headers['content-length']) !== tree.manifestBytes) {
    problems.push(`HEAD manifest: status ${head.status}, content-length ${head.headers['content-length']}`);
  }
  const blob = await httpRequest(base + tree.paths.blob4k);
  if (blob.status !== 200 || sha(blob.body) !== tree.digests.blob4k) problems.push(`GET 4 KiB blob: status ${blob.status}, digest mismatch?`);
  return problems;
}
