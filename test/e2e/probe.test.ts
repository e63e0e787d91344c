/**
 * `mirrorgate probe` end to end against two real registries (Debian's docker-registry) holding
 * the alpine-test fixture: the table lists both upstreams with 100 % success, a measured
 * throughput on the image's largest layer and a suggested weight, followed by the YAML snippet;
 * no gateway runs.
 */
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import t from 'tap';
import { runCli } from '../helpers/cli-process.js';
import { prepareImages, pushFixtures, type TestImages } from './helpers/fixtures.js';
import { startRegistry, type RunningRegistry } from './helpers/registry.js';
import { e2eSuite } from './helpers/suite.js';

const suite = await e2eSuite(t, 'probe');
if (suite !== undefined) {
  const { work } = suite;
  let images!: TestImages;
  const registries: RunningRegistry[] = [];
  t.teardown(() => Promise.all(registries.map((r) => r.stop())));
  const config = join(work, 'probe.yaml');

  await t.test('two registries with the fixtures', { timeout: 180_000 }, async () => {
    images = await prepareImages(join(work, 'images'));
    registries.push(await startRegistry(), await startRegistry());
    for (const registry of registries) await pushFixtures(images, registry.url, { only: ['alpine'], timeoutMs: 90_000 });
    const items = registries.map((r, i) => `  - { name: reg-${i}, url: "${r.url}", weight: ${i + 1} }`);
    await writeFile(config, `upstreams:\n${items.join('\n')}\n`);
  });

  await t.test('probe lists every upstream, each with 100 % success and a suggested weight', { timeout: 120_000 }, async (t) => {
    const run = await runCli(t, ['probe', '-c', config, '--image', images.alpine.ref, '--rounds', '2'], { timeoutMs: 90_000 });
    t.equal(run.code, 0, `exit 0; stderr: ${run.stderr.join('\n')}`);
    const text = run.stdout.join('\n');
    const largest = images.alpine.layers.reduce((a, b) => (b.size > a.size ? b : a));
    t.match(text, `layer ${largest.digest.slice(0, 19)}`, 'measured on the largest layer (the 20 MiB one)');
    for (const name of ['reg-0', 'reg-1']) {
      t.match(
        text,
        new RegExp(`^docker\\.io\\s+${name}\\s+[\\d.]+\\s+-\\s+[\\d.]+\\s+[\\d.]+\\s+100%\\s+(ok|slow)\\s+\\d+ → \\d+$`, 'm'),
        `${name}: a full row, 100 %`,
      );
      t.match(text, new RegExp(`- name: ${name}\\n\\s+url: http://127\\.0\\.0\\.1:\\d+\\n\\s+weight: \\d+`), `${name} in the YAML`);
    }
    t.ok(run.stderr.filter((line) => / round \d\/2: ok /.test(line)).length === 4, 'one progress line per round and upstream (stderr is not a terminal)');
  });
}
