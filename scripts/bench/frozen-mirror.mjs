#!/usr/bin/env node
/**
 * Frozen-mirror bench (issue 12 §1): three real docker-registry mirrors behind mirrorgate (cache
 * off: every pull goes upstream), one frozen with SIGSTOP (it accepts connections, never
 * answers). Measures, per repeat:
 *   - a skopeo pull of a multi-layer image with all three healthy (the baseline);
 *   - how long after the freeze the frozen mirror is out of rotation (effective weight 0), and
 *     when its breaker opened, while pulls keep running;
 *   - a skopeo pull with the mirror still frozen and out of rotation;
 * then SIGCONT, and waits until it is back at its whole weight. Reports each frozen/healthy
 * ratio with min/median/max. Targets: ratio <= 1.2 once out of rotation, out within 15 s.
 *
 *   npm run build && node scripts/bench/frozen-mirror.mjs [--repeats 3] [--layers 6] [--layer-mib 4]
 */
import { createHash, randomFillSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { freePort, httpRequest, run, sleep, start, stop, stopAll, waitHttp } from './procs.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(args[at + 1]);
};
const REPEATS = opt('repeats', 3);
const LAYERS = opt('layers', 6);
const LAYER_MIB = opt('layer-mib', 4);

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

/** A one-file ustar archive. */
function tar(name, data) {
  const h = Buffer.alloc(512);
  const str = (off, len, s) => Buffer.from(s).copy(h, off, 0, len);
  const oct = (off, len, n) => str(off, len, n.toString(8).padStart(len - 1, '0') + '\0');
  str(0, 100, name);
  oct(100, 8, 0o644);
  oct(108, 8, 0);
  oct(116, 8, 0);
  oct(124, 12, data.length);
  oct(136, 12, 1_700_000_000);
  h.fill(0x20, 148, 156);
  str(156, 1, '0');
  str(257, 6, 'ustar\0');
  str(263, 2, '00');
  let sum = 0;
  for (const b of h) sum += b;
  str(148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return Buffer.concat([h, data, Buffer.alloc((512 - (data.length % 512)) % 512), Buffer.alloc(1024)]);
}

/** An OCI image layout with `LAYERS` random layers, tagged `1`. */
function writeImage(dir) {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = (buf) => {
    const hex = sha256(buf);
    writeFileSync(join(dir, 'blobs', 'sha256', hex), buf);
    return { digest: `sha256:${hex}`, size: buf.length };
  };
  const layers = [];
  const diffIds = [];
  for (let i = 0; i < LAYERS; i++) {
    const raw = tar(`layer${i}.bin`, randomFillSync(Buffer.allocUnsafe(LAYER_MIB << 20)));
    diffIds.push(`sha256:${sha256(raw)}`);
    layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(gzipSync(raw, { level: 1 })) });
  }
  const config = put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds }, config: {} })));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers,
    }),
  );
  const m = put(manifest);
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': '1' } }],
    }),
  );
}

async function startMirror(work, i) {
  const port = await freePort();
  const dir = join(work, `mirror${i}`);
  mkdirSync(dir, { recursive: true });
  const config = join(work, `mirror${i}.yml`);
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log: { level: error, accesslog: { disabled: true } }',
      `storage: { filesystem: { rootdirectory: ${JSON.stringify(dir)} }, maintenance: { uploadpurging: { enabled: false } } }`,
      `http: { addr: "127.0.0.1:${port}" }`,
      '',
    ].join('\n'),
  );
  const proc = start(`mirror${i}`, ['docker-registry', 'serve', config], { log: join(work, `mirror${i}.log`) });
  await waitHttp(`http://127.0.0.1:${port}/v2/`, proc);
  return { name: `m${i}`, port, proc };
}

async function metric(gw, name, upstream) {
  const { body } = await httpRequest(`${gw}/metrics`);
  const line = body
    .toString()
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && l.includes(`upstream="${upstream}"`));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

async function pull(gw, work, label) {
  const out = join(work, `out-${label}`);
  rmSync(out, { recursive: true, force: true });
  const t0 = performance.now();
  const res = await run('skopeo', ['skopeo', 'copy', '--src-tls-verify=false', `docker://127.0.0.1:${new URL(gw).port}/library/bench:1`, `dir:${out}`], {
    timeoutMs: 180_000,
  });
  if (res.code !== 0) throw new Error(`skopeo pull failed (${res.code} ${res.signal} ${res.error}): ${res.stderr.slice(-500)}`);
  const seconds = (performance.now() - t0) / 1000;
  rmSync(out, { recursive: true, force: true });
  return seconds;
}

async function until(what, check, timeoutMs) {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (await check()) return (performance.now() - t0) / 1000;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)], max: s.at(-1) };
};
const f = (x) => x.toFixed(2);

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'mg-frozen-'));
  const mirrorsStarted = [];
  try {
    const image = join(work, 'image');
    writeImage(image);
    const mirrors = [];
    for (let i = 1; i <= 3; i++) mirrors.push(await startMirror(work, i));
    mirrorsStarted.push(...mirrors);
    for (const m of mirrors)
      await run('skopeo', ['skopeo', 'copy', '--dest-tls-verify=false', `oci:${image}:1`, `docker://127.0.0.1:${m.port}/library/bench:1`], {
        timeoutMs: 120_000,
      });

    const gwPort = await freePort();
    const cfg = join(work, 'mirrorgate.yaml');
    // Defaults for everything measured (health checks, breaker counts, timeouts.headers, hedging);
    // only the recovery between repeats is shortened (resetTimeout, slowStart).
    writeFileSync(
      cfg,
      [
        `listen: "127.0.0.1:${gwPort}"`,
        'log: { level: warn }',
        'breaker: { resetTimeout: 5s }',
        'balance: { slowStart: 2s }',
        'upstreams:',
        ...mirrors.map((m) => `  - { name: ${m.name}, url: "http://127.0.0.1:${m.port}" }`),
        '',
      ].join('\n'),
    );
    const gwProc = start('mirrorgate', [process.execPath, 'dist/cli.js', 'serve', '-c', cfg], { log: join(work, 'mirrorgate.log') });
    const gw = `http://127.0.0.1:${gwPort}`;
    await waitHttp(`${gw}/readyz`, gwProc);
    await pull(gw, work, 'warmup');

    const frozen = mirrors[0];
    const rows = [];
    for (let r = 0; r < REPEATS; r++) {
      const healthy = await pull(gw, work, `healthy-${r}`);
      process.kill(frozen.proc.pid, 'SIGSTOP');
      const frozenAt = performance.now();
      let breakerOpenS;
      // Pulls go on while the mirror is frozen: they meet it until it is out of rotation.
      const meeting = [];
      const out = until(
        'the frozen mirror is out of rotation',
        async () => {
          if (breakerOpenS === undefined && (await metric(gw, 'mirrorgate_breaker_state', frozen.name)) === 2)
            breakerOpenS = (performance.now() - frozenAt) / 1000;
          return (await metric(gw, 'mirrorgate_upstream_effective_weight', frozen.name)) === 0;
        },
        60_000,
      );
      let outS;
      void out.then((s) => (outS = s));
      while (outS === undefined) meeting.push(await pull(gw, work, `meeting-${r}-${meeting.length}`));
      const healthyFlag = await metric(gw, 'mirrorgate_upstream_healthy', frozen.name);
      const frozenPull = await pull(gw, work, `frozen-${r}`);
      rows.push({ healthy, frozen: frozenPull, ratio: frozenPull / healthy, outS, breakerOpenS, healthCheckDown: healthyFlag === 0, meeting });
      console.log(
        `repeat ${r + 1}: healthy ${f(healthy)} s, frozen+out ${f(frozenPull)} s (${f(frozenPull / healthy)}x); out of rotation after ${f(outS)} s` +
          ` (breaker open ${breakerOpenS === undefined ? 'not yet' : `after ${f(breakerOpenS)} s`}, health check down: ${healthyFlag === 0});` +
          ` pulls that met it: ${meeting.map(f).join(', ') || 'none'} s`,
      );
      process.kill(frozen.proc.pid, 'SIGCONT');
      await until('the mirror is back at its whole weight', async () => (await metric(gw, 'mirrorgate_upstream_effective_weight', frozen.name)) === 1, 90_000);
    }
    const ratio = stats(rows.map((r) => r.ratio));
    const outS = stats(rows.map((r) => r.outS));
    console.log(
      `\n${LAYERS} layers x ${LAYER_MIB} MiB, ${REPEATS} repeats: frozen/healthy ratio ${f(ratio.median)}x (min ${f(ratio.min)}, max ${f(ratio.max)});` +
        ` out of rotation after ${f(outS.median)} s (min ${f(outS.min)}, max ${f(outS.max)})`,
    );
    console.log(JSON.stringify(rows));
    await stop(gwProc);
  } finally {
    for (const m of mirrorsStarted) {
      try {
        process.kill(m.proc.pid, 'SIGCONT');
      } catch {
        // gone
      }
    }
    await stopAll();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
