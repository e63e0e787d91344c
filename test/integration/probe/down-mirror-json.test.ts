/**
 * `mirrorgate probe --json` with a mirror that answers (behind a Bearer token service) and one
 * that refuses connections: the JSON parses and carries every field per mirror; the dead one
 * has success 0, verdict down and no suggested weight, and the exit code says a mirror failed.
 * The table form lists both, with the YAML snippet draining the dead one.
 */
import t from 'tap';
import { runCli, tempDir } from '../../helpers/cli-process.js';
import { closedPort } from '../helpers/fake-upstream.js';
import { probeConfig, probeImage, startProbeMirror, PROBE_REPO, PROBE_TAG } from '../helpers/probe-mirrors.js';

const MiB = 1024 * 1024;

t.test('a dead mirror gets success 0 and no weight; the JSON has the fields', { timeout: 90_000 }, async (t) => {
  const image = probeImage(1 * MiB);
  const live = await startProbeMirror(image, { rate: 8 * MiB, bearer: true });
  t.teardown(() => live.close());
  const dead = `http://127.0.0.1:${await closedPort()}`;
  const dir = await tempDir(t, 'mirrorgate-probe-');
  const config = await probeConfig(dir, [
    ['live', live.url, 1],
    ['dead', dead, 1],
  ]);
  const args = ['probe', '-c', config, '--image', `${PROBE_REPO}:${PROBE_TAG}`, '--rounds', '2'];
  const run = await runCli(t, [...args, '--json'], { timeoutMs: 60_000 });
  t.equal(run.code, 1, 'exit 1: a mirror failed');
  const report = JSON.parse(run.stdout.join('\n')) as { rounds: number; registries: { registry: string; mirrors: Record<string, unknown>[] }[] };
  t.equal(report.rounds, 2);
  t.equal(report.registries[0]!.registry, 'docker.io');
  const [ok, down] = report.registries[0]!.mirrors as [Record<string, unknown>, Record<string, unknown>];
  for (const field of ['name', 'url', 'weight', 'suggestedWeight', 'pingMs', 'tokenMs', 'ttfbMs', 'mibPerS', 'success', 'verdict', 'rounds'])
    t.ok(field in ok && field in down, `field ${field}`);
  t.match(ok, { name: 'live', success: 1, verdict: 'ok', suggestedWeight: 1 });
  t.ok(
    typeof ok['tokenMs'] === 'number' && typeof ok['pingMs'] === 'number' && typeof ok['ttfbMs'] === 'number' && typeof ok['mibPerS'] === 'number',
    'measured /v2, token, TTFB and throughput',
  );
  t.match(down, { name: 'dead', success: 0, verdict: 'down', suggestedWeight: null, mibPerS: null, note: 'down' });
  t.match(String(down['lastError']), /connect/, 'says why');
  t.ok(
    live.requests.some((r) => r.url.startsWith('/token')),
    "the token came from the mirror's token service",
  );

  const table = await runCli(t, args, { timeoutMs: 60_000 });
  const text = table.stdout.join('\n');
  t.match(text, /^docker\.io\s+live\s.*100%\s+ok\s+1 → 1$/m, "the live mirror's row");
  t.match(text, /^docker\.io\s+dead\s.*0%\s+down\s+1 → -$/m, "the dead mirror's row");
  t.match(text, /- name: dead\n\s+url: .*\n\s+weight: 0 {2}# down/, 'the YAML drains the dead mirror');
});
