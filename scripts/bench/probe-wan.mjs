/**
 * `mirrorgate probe` against the fleet-wan bench's shaped mirrors (issue 10 §3): the same fixture
 * (one nginx on three ports, wan-shaper.mjs in front at 60/40/20 MiB/s with 20 ms RTT, the ~96
 * MiB image), a config naming the three shaped ports as docker.io upstreams with equal weights,
 * and the built CLI's table + YAML on stdout. The probe runs on the client CPU like skopeo.
 *
 * usage: npm run build && node scripts/bench/probe-wan.mjs [--rounds N] [--json] [--wan-rates=60,40,20] [--wan-rtt=20]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WAN_DEFAULTS, setupWan } from './fleet-wan.mjs';
import { run, stopAll } from './procs.mjs';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, json: { type: 'boolean' }, 'wan-rates': { type: 'string' }, 'wan-rtt': { type: 'string' } },
});
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'mirrorgate-probe-wan-'));
const ratesMiB = values['wan-rates']?.split(',').map(Number) ?? WAN_DEFAULTS.ratesMiB;
const rttMs = Number(values['wan-rtt'] ?? WAN_DEFAULTS.rttMs);
const env = { dir, repoRoot, clientCpu: 0, log: (line) => process.stderr.write(`${line}\n`) };
try {
  const wan = await setupWan(env, { ...WAN_DEFAULTS, ratesMiB, rttMs });
  const names = ratesMiB.map((r) => `mirror-${r}`);
  const items = wan.shaperPorts.map((port, i) => `  - { name: ${names[i]}, url: "http://127.0.0.1:${port}", weight: 1 }`);
  const config = join(dir, 'probe.yaml');
  writeFileSync(config, `upstreams:\n${items.join('\n')}\n`);
  process.stderr.write(
    `probe-wan: mirrors at ${ratesMiB.join('/')} MiB/s, ${rttMs} ms RTT; image ${wan.tree.repo}:${wan.tree.tag} (${(wan.imageBytes / 2 ** 20).toFixed(1)} MiB)\n`,
  );
  const args = [
    process.execPath,
    join(repoRoot, 'dist', 'cli.js'),
    'probe',
    '-c',
    config,
    '--image',
    `${wan.tree.repo}:${wan.tree.tag}`,
    '--rounds',
    values.rounds,
  ];
  const result = await run('probe', values.json ? [...args, '--json'] : args, { cpu: env.clientCpu, timeoutMs: 300_000 });
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  process.exitCode = result.code;
  await wan.stop();
} finally {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
