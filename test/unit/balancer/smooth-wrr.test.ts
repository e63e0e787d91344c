import t from 'tap';
import { SmoothWeightedRoundRobin } from '../../../src/balancer/smooth-wrr.js';

function sequence(weights: Record<string, number>, picks: number, eligible = (_: string) => true): string {
  const wrr = new SmoothWeightedRoundRobin(Object.entries(weights).map(([name, weight]) => ({ name, weight })));
  const out: string[] = [];
  for (let i = 0; i < picks; i++) out.push(wrr.pick((peer) => eligible(peer.name))?.name ?? '-');
  return out.join(' ');
}

t.test('nginx vectors', async (t) => {
  // From nginx's commit introducing smooth WRR (ngx_http_upstream_round_robin.c).
  t.equal(sequence({ a: 5, b: 1, c: 1 }, 7), 'a a b a c a a');
  t.equal(sequence({ a: 4, b: 2, c: 1 }, 7), 'a b a c a b a');
  t.equal(sequence({ a: 3, b: 2 }, 5), 'a b a b a');
});

t.test('the cycle repeats exactly', async (t) => {
  t.equal(sequence({ a: 5, b: 1, c: 1 }, 14), 'a a b a c a a a a b a c a a');
});

t.test('ties go to the first peer in config order', async (t) => {
  t.equal(sequence({ a: 1, b: 1, c: 1 }, 6), 'a b c a b c');
});

t.test('weight 0 is never picked', async (t) => {
  t.equal(sequence({ a: 0, b: 1 }, 3), 'b b b');
  t.equal(sequence({ a: 0 }, 2), '- -');
});

t.test('ineligible peers take no part and keep their current weight', async (t) => {
  t.equal(
    sequence({ a: 5, b: 1, c: 1 }, 4, (name) => name !== 'a'),
    'b c b c',
  );
});

t.test('property: every window of Σw picks gives each peer exactly its weight', async (t) => {
  // A small deterministic PRNG (mulberry32) so a failure is reproducible from its seed.
  let seed = 0x2f6b_1a3d;
  const random = (): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  for (let round = 0; round < 200; round++) {
    const count = 1 + Math.floor(random() * 6);
    const peers = Array.from({ length: count }, (_, i) => ({ name: `p${i}`, weight: 1 + Math.floor(random() * 9) }));
    const total = peers.reduce((sum, p) => sum + p.weight, 0);
    const wrr = new SmoothWeightedRoundRobin(peers);
    const picks = Array.from({ length: total * 3 }, () => wrr.pick(() => true)!.name);
    // The state returns to all-zero after Σw picks, so every window (any start) is one full cycle.
    for (let start = 0; start + total <= picks.length; start++) {
      const counts = new Map<string, number>();
      for (const name of picks.slice(start, start + total)) counts.set(name, (counts.get(name) ?? 0) + 1);
      for (const peer of peers) {
        if (counts.get(peer.name) !== peer.weight) {
          t.fail(`weights ${JSON.stringify(peers)}: window at ${start} gave ${peer.name} ${counts.get(peer.name)} picks`);
          return;
        }
      }
    }
  }
  t.pass('200 random weight sets hold their shares in every window');
});
