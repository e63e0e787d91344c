/**
 * A mirror that ignores `Range` answers the probe's sample request with 200 and the whole blob:
 * the probe reads its sample, cuts the download there (the mirror does not send the rest), and
 * counts the round as a success with `noRange` noted.
 */
import t from 'tap';
import { probeRegistry } from '../../../src/cli/probe-measure.js';
import { parseConfig } from '../../../src/config/load.js';
import { hostPlatform } from '../../../src/registry/platforms.js';
import { probeImage, startProbeMirror, PROBE_REPO, PROBE_TAG } from '../helpers/probe-mirrors.js';

const MiB = 1024 * 1024;

t.test('a mirror without Range support is read for the sample and cut', { timeout: 60_000 }, async (t) => {
  const image = probeImage(8 * MiB);
  const mirror = await startProbeMirror(image, { rate: 4 * MiB, noRange: true });
  t.teardown(() => mirror.close());
  const config = parseConfig(`upstreams:\n  - { name: plain, url: "${mirror.url}", weight: 1 }\n`, 'probe.yaml', {});
  const probe = await probeRegistry(
    config.registries[0]!,
    { name: PROBE_REPO, reference: PROBE_TAG, text: `docker.io/${PROBE_REPO}:${PROBE_TAG}` },
    { rounds: 1, sampleBytes: 1 * MiB, platform: hostPlatform() },
    new AbortController().signal,
  );
  const round = probe.mirrors[0]!.rounds[0]!;
  t.match(round, { ok: true, noRange: true });
  t.ok(round.bytes >= 1 * MiB && round.bytes < 2 * MiB, `read the 1 MiB sample and a little more, not the 8 MiB blob (${round.bytes})`);
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.ok(mirror.sent() < 3 * MiB, `the mirror stopped sending once cut (${(mirror.sent() / MiB).toFixed(2)} MiB sent)`);
  t.equal(probe.mirrors[0]!.success, 1);
});
