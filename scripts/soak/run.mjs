#!/usr/bin/env node
/**
 * Soak: the built gateway (`dist/cli.js serve`, cache on, in a temp dir) in front of three fake
 * mirrors on 127.0.0.1 that inject issue 13's faults at random, under a few concurrent pull
 * loops (manifests by tag and digest, HEADs, small/medium/big blobs, Ranges) whose every byte is
 * checked. Every minute it prints the gateway's RSS, active handles, open fds and sockets and
 * event-loop delay; after --minutes it stops by itself and prints a summary.
 *
 *   npm run soak -- --minutes 30 [--loops 3] [--pause-ms 250] [--json FILE]
 *
 * Mirrors: `a` faults on 30 % of its requests, `b` on 10 % and refuses connections for 15 s
 * every 3 minutes, `c` is honest. Faults: 500, 429, frozen (no headers), reset and stall
 * halfway through a body, a short body (clean FIN), a flipped byte, an HTML page, a redirect to
 * an internal address (a server here that must never be asked).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync, openSync, closeSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createContent } from './content.mjs';
import { startMirror } from './mirror.mjs';
import { createStats, request, runPullers } from './puller.mjs';
import { sampleGateway } from './sample.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist', 'cli.js');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    loops: { type: 'string', default: '3' },
    'pause-ms': { type: 'string', default: '250' },
    json: { type: 'string' },
  },
});
const minutes = Number(values.minutes);
if (!(minutes > 0)) throw new Error(`--minutes must be a positive number, got ${values.minutes}`);
if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm run soak does)`);

function freePort() {
  return new Promise((resolve) => {
    const server = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function configYaml(port, mirrors, dir) {
  const timeouts = '{ connect: 1s, headers: 2s, idle: 2s, queue: 2s }';
  const items = mirrors.map((m) => `  - { name: ${m.name}, url: "${m.url}", weight: 1, timeouts: ${timeouts} }`).join('\n');
  return `listen: "127.0.0.1:${port}"
log: { level: warn }
upstreams:
${items}
breaker: { volumeThreshold: 5, errorThresholdPercentage: 50, window: 10s, resetTimeout: 5s, quarantine: 10s }
timeouts: { clientIdle: 30s }
cache:
  dir: "${join(dir, 'cache')}"
  maxSize: 24MiB
  tags: { ttl: 2s }
  parallel: { minSize: 8MiB, pieceSize: 2MiB }
`;
}

async function waitReady(base, gateway) {
  for (let i = 0; i < 100; i++) {
    if (gateway.exitCode !== null) throw new Error(`the gateway exited with ${gateway.exitCode}`);
    const res = await request(base, 'GET', '/readyz', {}, 1000);
    if (res.status === 200) return;
    await sleep(100);
  }
  throw new Error('the gateway did not become ready within 10 s');
}

async function stopGateway(gateway) {
  if (gateway.exitCode !== null) return;
  const exited = new Promise((resolve) => gateway.once('exit', resolve));
  gateway.kill('SIGTERM');
  const timer = setTimeout(() => gateway.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

const fmt = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

function minuteLine(minute, s, stats) {
  const wrong = Object.values(stats.byKind).reduce((sum, k) => sum + k.wrongBytes, 0);
  return (
    `min ${String(minute).padStart(3)}  rss ${fmt(s.rssMiB)} MiB  handles ${s.handles}  fds ${s.fds}  sockets ${s.sockets}  ` +
    `loop p99 ${fmt(s.lagP99Ms)} ms (max ${fmt(s.lagMaxMs)})  cpu ${fmt(s.cpuSeconds)} s  pulls ${stats.pulls}  failovers ${s.failovers}  ` +
    `quarantined ${s.quarantined}  cached ${s.cacheBlobs}  evicted ${s.evicted}  wrong bytes ${wrong}`
  );
}

function summary(samples, stats, mirrors, secretHits, minutesRun) {
  const first = samples[0];
  const last = samples[samples.length - 1];
  const p99s = samples.map((s) => s.lagP99Ms).filter(Number.isFinite);
  const wrongBytes = Object.values(stats.byKind).reduce((sum, k) => sum + k.wrongBytes, 0);
  const lines = [
    `soak summary: ${fmt(minutesRun)} minutes, ${stats.pulls} pulls (${stats.tries} tries)`,
    `  rss        first minute ${fmt(first.rssMiB)} MiB, last minute ${fmt(last.rssMiB)} MiB`,
    `  handles    first minute ${first.handles}, last minute ${last.handles}`,
    `  fds        first minute ${first.fds} (${first.sockets} sockets), last minute ${last.fds} (${last.sockets} sockets)`,
    `  loop delay p99 per minute: max ${fmt(Math.max(...p99s))} ms, median ${fmt(p99s.sort((a, b) => a - b)[Math.floor(p99s.length / 2)])} ms`,
    `  gateway cpu ${fmt(last.cpuSeconds)} s in all`,
    `  wrong bytes ${wrongBytes}; internal-address server asked ${secretHits} times`,
    '  pulls by kind (ok / ok after a retry / failed after 4 tries / wrong):',
    ...Object.entries(stats.byKind).map(([kind, k]) => `    ${kind.padEnd(7)} ${k.ok} / ${k.retried} / ${k.failed} / ${k.wrong}`),
    '  faults injected per mirror:',
    ...mirrors.map(
      (m) =>
        `    ${m.name}: ${Object.entries(m.counts)
          .map(([f, n]) => `${f} ${n}`)
          .join(', ')}`,
    ),
  ];
  return { text: lines.join('\n'), wrongBytes, secretHits, first, last, maxP99Ms: Math.max(...p99s) };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'mirrorgate-soak-'));
  const content = createContent();
  let secretHits = 0;
  const secret = createServer((_req, res) => {
    secretHits++;
    res.end('internal');
  });
  await new Promise((resolve) => secret.listen(0, '127.0.0.1', resolve));
  const secretUrl = `http://127.0.0.1:${secret.address().port}`;
  const rate = 6 * 1024 * 1024;
  const mirrors = [
    await startMirror({ name: 'a', content, faultRate: 0.3, rate, secretUrl }),
    await startMirror({ name: 'b', content, faultRate: 0.1, rate, secretUrl }),
    await startMirror({ name: 'c', content, faultRate: 0, rate, secretUrl }),
  ];
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const configFile = join(dir, 'mirrorgate.yaml');
  writeFileSync(configFile, configYaml(port, mirrors, dir));
  const logFd = openSync(join(dir, 'gateway.log'), 'a');
  const gateway = spawn(process.execPath, [CLI, 'serve', '-c', configFile, '--no-watch'], { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  const stopAll = async () => {
    await stopGateway(gateway);
    await Promise.all(mirrors.map((m) => m.close()));
    secret.close();
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  try {
    await waitReady(base, gateway);
    console.log(`soak: gateway pid ${gateway.pid} on ${base}, mirrors ${mirrors.map((m) => `${m.name}=${m.url}`).join(' ')}, for ${minutes} min`);
    const stats = createStats();
    const stop = new AbortController();
    const pulling = runPullers({ base, content, loops: Number(values.loops), pauseMs: Number(values['pause-ms']), stats, signal: stop.signal });
    const started = Date.now();
    const samples = [];
    const refusals = setInterval(() => void mirrors[1].refuseFor(15_000), 180_000);
    setTimeout(() => void mirrors[1].refuseFor(15_000), 20_000).unref();
    for (let minute = 1; Date.now() - started < minutes * 60_000; minute++) {
      await sleep(Math.min(60_000, started + minutes * 60_000 - Date.now()));
      if (gateway.exitCode !== null) throw new Error(`the gateway exited with ${gateway.exitCode}`);
      const s = await sampleGateway(gateway.pid, base);
      samples.push(s);
      console.log(minuteLine(minute, s, stats));
    }
    clearInterval(refusals);
    stop.abort();
    await Promise.race([pulling, sleep(20_000)]);
    const result = summary(samples, stats, mirrors, secretHits, (Date.now() - started) / 60_000);
    console.log(result.text);
    if (values.json !== undefined)
      writeFileSync(values.json, JSON.stringify({ samples, stats, mirrors: mirrors.map((m) => ({ name: m.name, counts: m.counts })), ...result }, null, 2));
    process.exitCode = result.wrongBytes === 0 && secretHits === 0 ? 0 : 1;
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
process.exit();
