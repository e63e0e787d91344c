import t from 'tap';
import type { MirrorProbe, RegistryProbe } from '../../../src/cli/probe-measure.js';
import { probeJson, probeTable, verdict, weightsYaml } from '../../../src/cli/probe-report.js';

const mirror = (name: string, extra: Partial<MirrorProbe>): MirrorProbe => ({
  registry: 'docker.io',
  name,
  url: `https://${name}.example`,
  weight: 1,
  backup: false,
  rounds: [{ ok: true, bytes: 1 }],
  success: 1,
  ...extra,
});

const hub: RegistryProbe = {
  registry: 'docker.io',
  image: { name: 'library/alpine', reference: 'latest', text: 'docker.io/library/alpine:latest' },
  layer: { digest: `sha256:${'a'.repeat(64)}`, size: 3 * 1024 * 1024, sample: 3 * 1024 * 1024, platform: 'linux/amd64' },
  mirrors: [
    mirror('fast', { pingMs: 12.3, tokenMs: 40, ttfbMs: 25, mibPerS: 60 }),
    mirror('mid', { pingMs: 20, ttfbMs: 30, mibPerS: 40, weight: 5 }),
    mirror('slow', { pingMs: 30, ttfbMs: 45, mibPerS: 10 }),
    mirror('dead', { success: 0, rounds: [{ ok: false, bytes: 0, error: 'connect: ECONNREFUSED' }] }),
  ],
};
const ghcr: RegistryProbe = {
  registry: 'ghcr.io',
  layerError: 'no image to measure throughput on (give one with --image)',
  mirrors: [mirror('ghcr', { registry: 'ghcr.io', pingMs: 50 })],
};

t.test('verdicts: down, flaky, slow (under a quarter of the fastest), ok', async (t) => {
  t.equal(verdict(mirror('a', { success: 0 }), 60), 'down');
  t.equal(verdict(mirror('a', { success: 0.5, mibPerS: 60 }), 60), 'flaky');
  t.equal(verdict(mirror('a', { mibPerS: 14 }), 60), 'slow');
  t.equal(verdict(mirror('a', { mibPerS: 15 }), 60), 'ok');
  t.equal(verdict(mirror('a', {}), undefined), 'ok');
});

t.test('the table: one row per mirror, medians, verdict, weight now → suggested, and why the dead one failed', async (t) => {
  const lines = probeTable([hub, ghcr], 3).split('\n');
  t.match(
    lines[0],
    /^docker\.io: 3 rounds per mirror; docker\.io\/library\/alpine:latest, layer sha256:aaaaaaaaaaaa… \(3\.0 MiB, linux\/amd64\), first 3\.0 MiB read per round$/,
  );
  t.match(lines[1], /^ghcr\.io: 3 rounds per mirror; no throughput: no image/);
  const rows = lines.filter((l) => /^(docker\.io|ghcr\.io) {2}/.test(l));
  t.same(
    rows.map((l) => l.split(/\s{2,}/)),
    [
      ['docker.io', 'fast', '12', '40', '25', '60.0', '100%', 'ok', '1 → 6'],
      ['docker.io', 'mid', '20', '-', '30', '40.0', '100%', 'ok', '5 → 4'],
      ['docker.io', 'slow', '30', '-', '45', '10.0', '100%', 'slow', '1 → 1'],
      ['docker.io', 'dead', '-', '-', '-', '-', '0%', 'down', '1 → -'],
      ['ghcr.io', 'ghcr', '50', '-', '-', '-', '100%', 'ok', '1 → -'],
    ],
  );
  t.match(lines.slice(-2).join('\n'), /failed rounds \(last error\):\n {2}dead: connect: ECONNREFUSED/);
});

t.test('the YAML: docker.io at the top level, other registries under registries, the dead mirror drained', async (t) => {
  t.equal(
    weightsYaml([hub, ghcr]),
    [
      '# suggested by mirrorgate probe: weights in proportion to measured throughput; merge into your config (only weight changes)',
      'upstreams:',
      '  - name: fast',
      '    url: https://fast.example',
      '    weight: 6',
      '  - name: mid',
      '    url: https://mid.example',
      '    weight: 4',
      '  - name: slow',
      '    url: https://slow.example',
      '    weight: 1',
      '  - name: dead',
      '    url: https://dead.example',
      '    weight: 0  # down: no round succeeded (connect: ECONNREFUSED); 0 drains it',
      'registries:',
      '  ghcr.io:',
      '    upstreams:',
      '      # no suggestion for ghcr.io: no image to measure throughput on (give one with --image)',
      '      - name: ghcr',
      '        url: https://ghcr.example',
      '        weight: 1  # unchanged: no throughput measured',
    ].join('\n'),
  );
});

t.test('the JSON: every field, null for what was not measured', async (t) => {
  const doc = JSON.parse(probeJson([hub], 3)) as { rounds: number; registries: { mirrors: Record<string, unknown>[] }[] };
  t.equal(doc.rounds, 3);
  t.match(doc.registries[0]!.mirrors[0], { name: 'fast', suggestedWeight: 6, pingMs: 12.3, tokenMs: 40, mibPerS: 60, success: 1, verdict: 'ok', note: null });
  t.match(doc.registries[0]!.mirrors[3], {
    name: 'dead',
    suggestedWeight: null,
    mibPerS: null,
    success: 0,
    verdict: 'down',
    note: 'down',
    lastError: 'connect: ECONNREFUSED',
  });
});
