/**
 * fleet-wan (issue 9): F concurrent `skopeo copy` of a ~96 MiB image (one layer) through a peer
 * whose three mirrors sit behind a shaped WAN (60/40/20 MiB/s, 20 ms RTT: wan-shaper.mjs), once
 * with the peer's cache empty (cold) and once more right after (warm). Each run starts the peer
 * afresh in a new directory, so every cold pull really starts empty.
 *
 * Before that (issue 10), a single cold pull (F = 1) through a peer started afresh, so that
 * one client's cold pull is measured without the fleet's load on the client core.
 *
 * Counted per pull round: the wall time; the WAN time (from the round's start to the moment the
 * shaper delivered the last mirror byte of the round: when the mirrors were done, however long
 * the clients then took); each mirror's share of the bytes over the shaper beside its share of
 * the summed link rates; the bytes the mirrors sent (their nginx access log,
 * $body_bytes_sent per response, all of it and blobs only) and the bytes the shaper carried; the
 * GETs per blob the mirrors answered (single-flight means 1); and how many of the F copies hold
 * every blob of the image with the right sha256.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateRegistryTree, upstreamNginxConf } from './fixtures.mjs';
import { startPeer } from './peers.mjs';
import {
  CLK_TCK,
  childPids,
  cpuLineTicks,
  freePort,
  httpRequest,
  pinningEnabled,
  sleep,
  start,
  stop,
  sumCpu,
  sumRss,
  sumSyscalls,
  userTicks,
  waitHttp,
} from './procs.mjs';
import { skopeoCopies } from './workloads.mjs';

const MiB = 1024 * 1024;

/**
 * What every peer here runs with: mirrorgate without its active health checks, whose `/v2/`
 * pings (every 10 s) are mirror bytes too: a fleet round longer than 10 s took the first one for
 * its last mirror byte (WAN time 9.9 s for a fill that was done at 1.2 s). nginx and
 * distribution check nothing either.
 */
export const WAN_PEER_CTX = { health: false };

/** The peers of this workload, in rotation order. */
export const WAN_PEERS = ['mirrorgate-cache', 'nginx', 'nginx-cache', 'distribution'];

export const WAN_DEFAULTS = {
  ratesMiB: [60, 40, 20],
  rttMs: 20,
  // Uncompressed sizes of the layers: random data, so the gzip layers are as big (~96 MiB). One
  // layer (issue 10): the old 48/32/16 was in the ratio of the mirror rates, so whole layers
  // picked 3:2:1 gave the speed shares as exactly as a parallel fill, and only the 48 MiB layer
  // was cut into pieces. One 96 MiB layer is what a parallel fill is for; a peer that fetches a
  // blob from one mirror gets that mirror's rate (its own pick, as for any layer).
  layerMiB: [96],
  fleet: 12,
};

/**
 * The WAN fixture: its own image tree, one nginx serving it on three ports (with an access log),
 * and the shaper in front of them. Resolves { tree, imageBytes, tminS, shaperPorts, stop() }.
 */
export async function setupWan(env, { ratesMiB, rttMs, layerMiB, pieceBytes }) {
  const dir = join(env.dir, 'wan');
  const www = join(dir, 'www');
  const tree = generateRegistryTree(www, { bigBlobBytes: 4096, layerSizes: layerMiB.map((m) => m * MiB) });
  const manifest = JSON.parse(readFileSync(join(www, 'v2', tree.repo, 'manifests', tree.tag), 'utf8'));
  const blobs = [manifest.config, ...manifest.layers].map((d) => ({ digest: d.digest, size: d.size }));
  const imageBytes = blobs.reduce((a, b) => a + b.size, 0);

  const mirrorDir = join(dir, 'mirror');
  for (const d of ['client', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(mirrorDir, 'tmp', d), { recursive: true });
  const mirrorPorts = [await freePort(), await freePort(), await freePort()];
  const accessLog = join(mirrorDir, 'access.log');
  writeFileSync(accessLog, '');
  const conf = join(mirrorDir, 'nginx.conf');
  writeFileSync(conf, upstreamNginxConf({ dir: mirrorDir, www, ports: mirrorPorts, tree, user: process.getuid?.() === 0, name: 'mirror', accessLog }));
  const mirror = start('wan-mirrors', ['nginx', '-p', mirrorDir, '-c', conf, '-e', join(mirrorDir, 'error.log')], {
    cpu: env.clientCpu,
    cwd: mirrorDir,
    log: join(mirrorDir, 'output.log'),
  });
  for (const p of mirrorPorts) await waitHttp(`http://127.0.0.1:${p}/v2/`, mirror);

  const shaperPorts = [await freePort(), await freePort(), await freePort()];
  const statsPort = await freePort();
  const spec = shaperPorts.map((p, i) => `${p}:${mirrorPorts[i]}:${Math.round(ratesMiB[i] * MiB)}`).join(',');
  // The shaper is the network: its timers must not wait behind the clients it shares a core
  // with (12 skopeo copies hashing and writing starved it, and every peer's fleet WAN time with
  // it). As root it runs at a higher priority than they do.
  const shaper = start(
    'wan-shaper',
    [
      ...(process.getuid?.() === 0 ? ['nice', '-n', '-10'] : []),
      process.execPath,
      join(env.repoRoot, 'scripts', 'bench', 'wan-shaper.mjs'),
      '--spec',
      spec,
      '--rtt-ms',
      String(rttMs),
      '--stats-port',
      String(statsPort),
      ...(pieceBytes === undefined ? [] : ['--piece', String(pieceBytes)]),
    ],
    { cpu: env.clientCpu, log: join(dir, 'shaper.log') },
  );
  await waitHttp(`http://127.0.0.1:${statsPort}/stats`, shaper);
  for (const p of shaperPorts) await waitHttp(`http://127.0.0.1:${p}/v2/`, shaper);
  const rate = ratesMiB.reduce((a, r) => a + r, 0) * MiB;
  return {
    dir,
    tree,
    blobs,
    ratesMiB,
    imageBytes,
    tminS: imageBytes / rate,
    mirrorPorts,
    shaperPorts,
    accessLog,
    /** The shaper's and the mirrors' processes (CPU accounting of the client core). */
    pids: () => [shaper.pid, mirror.pid, ...childPids(mirror.pid)],
    shaperPid: shaper.pid,
    /** The shaper's counters; `reset`: its lag maximum starts again. */
    stats: async (reset = false) => JSON.parse((await httpRequest(`http://127.0.0.1:${statsPort}/stats${reset ? '?reset' : ''}`)).body.toString()).mirrors,
    stop: async () => {
      await stop(shaper);
      await stop(mirror);
    },
  };
}

/** What the mirrors answered since `offset` of the access log: bytes (all, blobs) and GETs per blob. */
function mirrorTraffic(wan, offset) {
  const text = readFileSync(wan.accessLog).subarray(offset).toString();
  const perMirror = Object.fromEntries(wan.mirrorPorts.map((p) => [p, 0]));
  const getsPerBlob = new Map();
  let bytes = 0;
  let blobBytes = 0;
  for (const line of text.split('\n')) {
    const [port, method, uri, status, sent] = line.split(' ');
    if (sent === undefined) continue;
    const n = Number(sent);
    bytes += n;
    perMirror[port] = (perMirror[port] ?? 0) + n;
    const m = /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(uri);
    if (!m) continue;
    blobBytes += n;
    if (method === 'GET' && (status === '200' || status === '206')) getsPerBlob.set(m[1], (getsPerBlob.get(m[1]) ?? 0) + 1);
  }
  const layerGets = wan.blobs.map((b) => getsPerBlob.get(b.digest) ?? 0);
  return { bytes, blobBytes, perMirror, layerGets };
}

async function sha256File(path) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk);
  return hash.digest('hex');
}

/** A `dir:` copy is correct when every blob of the image is there under its name with its sha256. */
async function copyIsCorrect(dest, wan) {
  for (const b of wan.blobs) {
    const hex = b.digest.slice('sha256:'.length);
    const file = [join(dest, hex), join(dest, b.digest)].find((f) => existsSync(f));
    if (file === undefined || statSync(file).size !== b.size || (await sha256File(file)) !== hex) return false;
  }
  return true;
}

/**
 * One round of F concurrent pulls through the peer; peak RSS of the peer sampled meanwhile, its
 * CPU seconds, and the share of its core that other processes took (pinned runs: the noise).
 */
async function pullRound(peer, wan, env, label, fleet, peerCpu) {
  const root = join(wan.dir, 'pulls', `${peer.id}-${label}-${Date.now()}`);
  const src = `docker://127.0.0.1:${peer.port}/${wan.tree.repo}:${wan.tree.tag}`;
  const logOffset = statSync(wan.accessLog).size;
  const shaped0 = await wan.stats(true);
  const cpu0 = sumCpu(peer.pids());
  const sys0 = sumSyscalls(peer.pids());
  const user0 = peer.pids().reduce((a, p) => a + userTicks(p), 0);
  const core0 = cpuLineTicks(peerCpu);
  let peak = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, sumRss(peer.pids()));
      await sleep(250);
    }
  })();
  const startedAt = Date.now();
  const { wall, results } = await skopeoCopies(env, src, root, fleet, (i) => `dir:${join(root, `dest-${i}`)}`, 300_000);
  sampling = false;
  await sampler;
  const cpuS = (sumCpu(peer.pids()) - cpu0) / CLK_TCK;
  // Read + write syscalls: how many pieces the peer moved the bytes in (a follower of a fill
  // that wakes for every write of it reads small pieces; a stored blob is read in big ones).
  const syscalls = sumSyscalls(peer.pids()) - sys0;
  const core1 = cpuLineTicks(peerCpu);
  const peerUser = peer.pids().reduce((a, p) => a + userTicks(p), 0) - user0;
  const foreignPct = pinningEnabled() ? Math.max(0, (100 * (core1.user - core0.user - peerUser)) / (core1.total - core0.total)) : NaN;
  // A proxy may still finish a fill it started for a client that already has its bytes (and
  // nginx logs a response when it ends): let the mirrors' log settle before reading it.
  await sleep(500);
  const shaped1 = await wan.stats();
  const traffic = mirrorTraffic(wan, logOffset);
  const shapedPerMirror = shaped1.map((m, i) => m.bytesDown - shaped0[i].bytesDown);
  // The last byte the shaper delivered for this round, of any mirror that carried some.
  const lastAt = Math.max(0, ...shaped1.filter((_, i) => shapedPerMirror[i] > 0).map((m) => m.lastDownAt));
  const failed = results.filter((r) => r.code !== 0);
  if (failed.length > 0)
    env.log(`  fleet-wan ${label} via ${peer.id}: ${failed.length}/${fleet} skopeo copies failed: ${failed[0].stderr.trim().split('\n').pop()}`);
  let correct = 0;
  for (let i = 0; i < fleet; i += 1) if (results[i].code === 0 && (await copyIsCorrect(join(root, `dest-${i}`), wan))) correct += 1;
  rmSync(root, { recursive: true, force: true });
  return {
    wall,
    correct,
    failed: failed.length,
    upBytes: traffic.bytes,
    upBlobBytes: traffic.blobBytes,
    perMirror: traffic.perMirror,
    layerGets: traffic.layerGets,
    shapedBytes: shapedPerMirror.reduce((a, n) => a + n, 0),
    shapedPerMirror,
    wanS: lastAt > 0 ? (lastAt - startedAt) / 1000 : NaN,
    shaperLagMs: Math.max(...shaped1.map((m) => m.maxLagMs ?? 0)),
    rssPeakMiB: peak / 1024,
    cpuS,
    syscalls,
    foreignPct,
  };
}

/**
 * One cold + warm measurement of one peer: started fresh in `runDir` (an empty cache), pulled
 * twice, stopped, its directory removed. `peerCtx` is the ctx of peers.mjs for the peer.
 */
export async function fleetWanRun(id, wan, env, peerCtx, runDir) {
  const single = await singleColdPull(id, wan, env, { ...peerCtx, ...WAN_PEER_CTX }, `${runDir}-single`);
  const ups = { ...peerCtx, ...WAN_PEER_CTX, dir: runDir, upstreamPorts: wan.shaperPorts };
  const peer = await startPeer(id, ups);
  const fleet = env.opts.wanFleet;
  try {
    const cold = await pullRound(peer, wan, env, 'cold', fleet, peerCtx.cpu);
    const warm = await pullRound(peer, wan, env, 'warm', fleet, peerCtx.cpu);
    const warnings = peerLogProblems(peer);
    return {
      ...single,
      coldWanS: cold.wanS,
      coldWanTmin: cold.wanS / wan.tminS,
      coldWallVsWan: cold.wall / cold.wanS,
      coldShaperLagMs: cold.shaperLagMs,
      ...shareFigures('cold', cold.shapedPerMirror, wan),
      coldWall: cold.wall,
      warmWall: warm.wall,
      coldVsWarm: cold.wall / warm.wall,
      coldTmin: cold.wall / wan.tminS,
      warmTmin: warm.wall / wan.tminS,
      coldUpX: cold.upBytes / wan.imageBytes,
      coldShapedX: cold.shapedBytes / wan.imageBytes,
      warmUpBlobMiB: warm.upBlobBytes / MiB,
      warmUpMiB: warm.upBytes / MiB,
      coldMaxGetsPerBlob: Math.max(...cold.layerGets),
      coldLayerGets: cold.layerGets.join('/'),
      coldPerMirrorMiB: wan.mirrorPorts.map((port) => ((cold.perMirror[port] ?? 0) / MiB).toFixed(1)),
      correct: cold.correct + warm.correct + single.singleCorrect,
      pulls: 2 * fleet + 1,
      rssPeakMiB: Math.max(cold.rssPeakMiB, warm.rssPeakMiB),
      coldCpuS: cold.cpuS,
      warmCpuS: warm.cpuS,
      coldSyscalls: cold.syscalls,
      warmSyscalls: warm.syscalls,
      foreignPct: Math.max(cold.foreignPct, warm.foreignPct),
      logProblems: warnings.length,
      logSample: warnings.slice(0, 3),
      errors: cold.failed + warm.failed + (2 * fleet - cold.correct - warm.correct - cold.failed - warm.failed) + (1 - single.singleCorrect),
    };
  } finally {
    await peer.stop();
    rmSync(runDir, { recursive: true, force: true });
  }
}

/** One cold pull by one client through the peer started afresh in its own dir; stopped and removed after. */
async function singleColdPull(id, wan, env, peerCtx, runDir) {
  const peer = await startPeer(id, { ...peerCtx, dir: runDir, upstreamPorts: wan.shaperPorts });
  try {
    const r = await pullRound(peer, wan, env, 'single', 1, peerCtx.cpu);
    return {
      singleWall: r.wall,
      singleWanS: r.wanS,
      singleWanTmin: r.wanS / wan.tminS,
      singleWallTmin: r.wall / wan.tminS,
      singleUpX: r.upBytes / wan.imageBytes,
      singleCorrect: r.correct,
      singleShaperLagMs: r.shaperLagMs,
      ...shareFigures('single', r.shapedPerMirror, wan),
    };
  } finally {
    await peer.stop();
    rmSync(runDir, { recursive: true, force: true });
  }
}

/**
 * Each mirror's share of the round's shaped bytes beside its share of the summed link rates:
 * `${prefix}Shares` ("52/33/15"), and `${prefix}ShareDev`, the largest |byte share ÷ speed
 * share − 1| over the mirrors (0.10 = a mirror 10 % off its speed share).
 */
function shareFigures(prefix, perMirror, wan) {
  const total = perMirror.reduce((a, n) => a + n, 0);
  const rates = wan.ratesMiB;
  const rateSum = rates.reduce((a, r) => a + r, 0);
  const shares = perMirror.map((n) => (total > 0 ? n / total : 0));
  // Rounded: an exact match must read 0, not 1e-16 (whose spread in the report is absurd).
  const dev = Math.round(1e4 * Math.max(...shares.map((s, i) => Math.abs(s / (rates[i] / rateSum) - 1)))) / 1e4;
  return { [`${prefix}Shares`]: shares.map((s) => (100 * s).toFixed(0)).join('/'), [`${prefix}ShareDev`]: dev };
}

/** Warning and error lines the peer logged (mirrorgate logs JSON; the others plain text). */
function peerLogProblems(peer) {
  let text = '';
  for (const f of [peer.log, join(peer.dir, 'error.log')]) {
    try {
      text += readFileSync(f, 'utf8');
    } catch {
      // no such log for this peer
    }
  }
  // distribution warns at every start that its storage cannot delete repositories: not a problem of the run.
  return text
    .split('\n')
    .filter(
      (l) => /"level":(40|50|60)|\[(warn|error|crit|alert|emerg)\]|level=(warning|error|fatal)/.test(l) && !l.includes('does not implement RempositoryRemover'),
    );
}
