/**
 * `mirrorgate probe` against three fake mirrors shaped to 6/4/2 MiB/s: the throughput it measures
 * puts them in that order, at about those ratios, and the weights it suggests follow (3/2/1).
 * Slow rates and a wide tolerance (±35 %) keep this steady on a busy 2-core machine.
 */
import t from 'tap';
import { runCli, tempDir } from '../../helpers/cli-process.js';
import { probeConfig, probeImage, startProbeMirror, PROBE_REPO, PROBE_TAG } from '../helpers/probe-mirrors.js';

const MiB = 1024 * 1024;
const RATES = [6, 4, 2];
const TOLERANCE = 0.35;

t.test('measured order and suggested weights follow the shaped speeds', { timeout: 120_000 }, async (t) => {
  const image = probeImage(4 * MiB);
  const mirrors = await Promise.all(RATES.map((rate) => startProbeMirror(image, { rate: rate * MiB })));
  t.teardown(() => Promise.all(mirrors.map((m) => m.close())));
  const dir = await tempDir(t, 'mirrorgate-probe-');
  const config = await probeConfig(
    dir,
    mirrors.map((m, i) => [`m${RATES[i]}`, m.url, 1] as const),
  );
  const run = await runCli(t, ['probe', '-c', config, '--image', `${PROBE_REPO}:${PROBE_TAG}`, '--rounds', '2', '--json'], { timeoutMs: 90_000 });
  t.equal(run.code, 0, `exit 0 (stderr: ${run.stderr.join(' | ')})`);
  const report = JSON.parse(run.stdout.join('\n')) as {
    registries: { layer: { digest: string; sample: number }; mirrors: { name: string; mibPerS: number; success: number; suggestedWeight: number }[] }[];
  };
  const hub = report.registries[0]!;
  t.equal(hub.layer.digest, image.digest, 'the largest layer of the image');
  t.equal(hub.layer.sample, 4 * MiB, 'read whole: smaller than the sample size');
  const measured = hub.mirrors.map((m) => m.mibPerS);
  t.same(
    hub.mirrors.map((m) => m.success),
    [1, 1, 1],
    'every round succeeded',
  );
  t.ok(measured[0]! > measured[1]! && measured[1]! > measured[2]!, `measured in the shaped order: ${measured.map((r) => r.toFixed(2)).join(' / ')} MiB/s`);
  for (const i of [1, 2]) {
    const ratio = measured[0]! / measured[i]!;
    const expected = RATES[0]! / RATES[i]!;
    t.ok(Math.abs(ratio / expected - 1) <= TOLERANCE, `fastest ÷ m${RATES[i]} = ${ratio.toFixed(2)}, shaped ${expected.toFixed(2)} (±35 %)`);
  }
  const weights = hub.mirrors.map((m) => m.suggestedWeight);
  for (const i of [1, 2]) {
    const ratio = weights[0]! / weights[i]!;
    const expected = RATES[0]! / RATES[i]!;
    t.ok(Math.abs(ratio / expected - 1) <= TOLERANCE, `suggested weights ${weights.join('/')}: ratio ${ratio.toFixed(2)} vs ${expected.toFixed(2)}`);
  }
  for (const m of mirrors) {
    const blobGets = m.requests.filter((r) => r.method === 'GET' && r.url.endsWith(image.digest));
    t.same(
      blobGets.map((r) => r.headers.range),
      ['bytes=0-4194303', 'bytes=0-4194303'],
      'one Range GET of the sample per round',
    );
  }
});
