import t from 'tap';
import { adaptiveWeights, REFERENCE_BYTES } from '../../../src/balancer/adaptive-weights.js';
import { MirrorSpeed, type SpeedView } from '../../../src/balancer/mirror-speed.js';
import { MIN_SHARE } from '../../../src/balancer/slow-start.js';
import { bodiesOneAfterAnother } from '../../helpers/speed-bodies.js';

const MiB = 1024 * 1024;
const HALF_LIFE = 60_000;

interface Peer {
  readonly name: string;
  readonly weight: number;
  readonly speed: SpeedView;
}

/** A mirror that moved `samples` whole 32 MiB bodies at `mibPerS` one after another, each answered after `latency` s, the last ending at time `at`. */
function measured(mibPerS: number, latency: number, options: { samples?: number; at?: number } = {}): MirrorSpeed {
  const samples = options.samples ?? 20;
  const seconds = 32 / mibPerS;
  const { speed, body } = bodiesOneAfterAnother((options.at ?? 0) - samples * seconds * 1000);
  for (let i = 0; i < samples; i++) {
    speed.answered(latency);
    body(32 * MiB, seconds);
  }
  return speed;
}

const peersOf = (rows: [string, number, SpeedView][]): Peer[] => rows.map(([name, weight, speed]) => ({ name, weight, speed }));
const weightsOf = (peers: Peer[], now = 0): number[] => {
  const weights = adaptiveWeights(peers, (p) => p.speed, HALF_LIFE, now);
  return peers.map((p) => weights.get(p.name)!);
};
const near = (actual: number, expected: number, tolerance = 0.02): boolean => Math.abs(actual - expected) <= tolerance * Math.max(1, expected);

t.test('nothing measured: the configured weights as they are', async (t) => {
  const peers = [
    { name: 'a', weight: 5, speed: new MirrorSpeed() },
    { name: 'b', weight: 1, speed: new MirrorSpeed() },
    { name: 'c', weight: 0, speed: new MirrorSpeed() },
  ];
  t.same(weightsOf(peers), [5, 1, 0]);
});

t.test('equal configured weights: the weights follow the measured speeds', async (t) => {
  const peers = peersOf([
    ['a', 3, measured(60, 0)],
    ['b', 3, measured(40, 0)],
    ['c', 3, measured(20, 0)],
  ]);
  const [a, b, c] = weightsOf(peers);
  t.equal(a, 3, 'the fastest keeps its weight');
  t.ok(near(b!, 2, 0.05) && near(c!, 1, 0.05), `40 and 20 MiB/s against 60: ${b} and ${c} (2 and 1, within the pull of the prior)`);
});

t.test('the latency all mirrors have does not count: 50 ms away each, the weights still follow their links', async (t) => {
  const peers = peersOf([
    ['a', 1, measured(60, 0.05)],
    ['b', 1, measured(40, 0.05)],
    ['c', 1, measured(20, 0.05)],
  ]);
  const [a, b, c] = weightsOf(peers);
  // Counted whole, 50 ms on top of 67/100/200 ms for a layer would give 1/0.78/0.47.
  t.ok(a === 1 && near(b!, 2 / 3, 0.03) && near(c!, 1 / 3, 0.03), `${a} / ${b} / ${c}: 1 / 0.67 / 0.33`);
});

t.test('latency beyond the lowest counts: at equal throughput, a mirror 0.5 s slower to answer gets less', async (t) => {
  const peers = peersOf([
    ['near', 1, measured(40, 0.01)],
    ['far', 1, measured(40, 0.51)],
  ]);
  const [nearW, farW] = weightsOf(peers);
  const layer = REFERENCE_BYTES / (40 * MiB);
  t.equal(nearW, 1);
  const ratio = layer / (0.5 + layer);
  // The prior pulls both latencies a little towards their mean (20 answers each), so a little above the plain ratio.
  t.ok(farW! > ratio && farW! < 1.4 * ratio, `${farW}: about the ratio of their times for a typical layer beyond the nearer's answer, ${ratio.toFixed(3)}`);
});

t.test('no body measured yet: the answers alone decide, latency counted whole', async (t) => {
  const answered = (latency: number): MirrorSpeed => {
    const speed = new MirrorSpeed(() => 0);
    for (let i = 0; i < 20; i++) speed.answered(latency);
    return speed;
  };
  const [nearW, farW] = weightsOf(
    peersOf([
      ['near', 1, answered(0.1)],
      ['far', 1, answered(0.4)],
    ]),
  );
  t.equal(nearW, 1);
  t.ok(farW! > 0.25 && farW! < 0.35, `${farW}: about 0.1 / 0.4, not the floor`);
});

t.test('the configured weight is the cap, 0 stays 0, and nothing falls below MIN_SHARE', async (t) => {
  const peers = peersOf([
    ['harbor', 10, measured(2, 0)],
    ['cloud', 1, measured(200, 0)],
    ['off', 0, measured(400, 0)],
  ]);
  const [harbor, cloud, off] = weightsOf(peers);
  t.equal(cloud, 1, 'the fastest is held to its own weight');
  t.equal(off, 0, 'weight 0 stays 0, however fast');
  // Measured against the pool's largest weight (10), 2 MiB/s against 200 would be 0.1: the floor is 0.5.
  t.equal(harbor, 10 * MIN_SHARE);
});

t.test('evidence counts by its amount: a mirror moves towards its measured speed as samples come in', async (t) => {
  const withSamples = (bodies: number): number => {
    const fresh = bodiesOneAfterAnother();
    for (let i = 0; i < bodies; i++) fresh.body(MiB, 1 / 6);
    const peers = [
      { name: 'a', weight: 1, speed: measured(60, 0) },
      { name: 'b', weight: 1, speed: measured(60, 0) },
      { name: 'new', weight: 1, speed: fresh.speed },
    ];
    return weightsOf(peers)[2]!;
  };
  const [none, one, four, thirtyTwo] = [0, 1, 4, 32].map(withSamples);
  t.equal(none, 1, 'unmeasured: as fast as the average');
  t.ok(one! < 1 && one! > four! && four! > thirtyTwo!, `1, 4, 32 bodies of 1 MiB at a tenth of the speed: ${one} > ${four} > ${thirtyTwo}`);
  t.ok(one! > 0.3, 'one body moves it only part of the way');
  t.ok(Math.abs(thirtyTwo! - 0.1) < 0.03, 'many bodies: about its measured share, a tenth');
});

t.test('old evidence fades: a mirror slow ten minutes ago climbs back towards its weight', async (t) => {
  const tenMinutes = 600_000;
  const now = (at: number): Peer[] => [
    { name: 'a', weight: 1, speed: measured(60, 0, { at: tenMinutes }) },
    { name: 'slow', weight: 1, speed: measured(6, 0, { at }) },
  ];
  const [, fresh] = weightsOf(now(tenMinutes), tenMinutes);
  const [, stale] = weightsOf(now(0), tenMinutes);
  t.ok(fresh! < 0.15, `slow measured just now: ${fresh}`);
  t.ok(stale! > 0.4 && stale! > 3 * fresh!, `the same figure ten half-lives old: ${stale}`);
});
