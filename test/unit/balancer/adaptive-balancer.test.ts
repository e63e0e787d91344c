import t from 'tap';
import { ADAPTIVE_REFRESH_MS, Balancer, type BalancedPeer } from '../../../src/balancer/balancer.js';
import { bodiesOneAfterAnother } from '../../helpers/speed-bodies.js';

const MiB = 1024 * 1024;

/** Three peers, each MirrorSpeed fed bodies one after another on its own clock (the balancer's `now` reads them). */
function pool() {
  const feeders = ['fast', 'mid', 'slow'].map((name) => ({ name, ...bodiesOneAfterAnother() }));
  const peers = feeders.map(({ name, speed }) => ({ name, weight: 1, backup: false, speed }));
  const feed = (rates: number[]): void =>
    feeders.forEach((feeder, i) => {
      for (let n = 0; n < 20; n++) feeder.body(32 * MiB, 32 / rates[i]!);
    });
  return { peers, feeders, feed };
}
const shares = <P extends BalancedPeer>(balancer: Balancer<P>, n: number): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const name = balancer.pick()?.name ?? '-';
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
};

t.test('adaptive: the picks follow measured speed; static: the configured weights, whatever was measured', async (t) => {
  const now = 0;
  const { peers, feed } = pool();
  feed([60, 40, 20]);
  const adaptive = new Balancer(peers, { adaptive: { halfLifeMs: 60_000, speedOf: (p) => p.speed }, now: () => now });
  const picked = shares(adaptive, 600);
  t.ok(
    Math.abs(picked.fast! - 300) <= 15 && Math.abs(picked.mid! - 200) <= 15 && Math.abs(picked.slow! - 100) <= 15,
    `600 picks at 60/40/20 MiB/s: ${JSON.stringify(picked)}`,
  );
  const statics = new Balancer(peers, { now: () => now });
  t.same(shares(statics, 600), { fast: 200, mid: 200, slow: 200 });
});

t.test('adaptive weights are worked out at most once a second: a new measurement shows at the next refresh', async (t) => {
  let now = 0;
  const { peers, feeders, feed } = pool();
  feed([40, 40, 40]);
  const balancer = new Balancer(peers, { adaptive: { halfLifeMs: 60_000, speedOf: (p) => p.speed }, now: () => now });
  t.equal(balancer.effectiveWeight(peers[2]!), 1);
  for (let n = 0; n < 32; n++) feeders[2]!.body(32 * MiB, 32 / 4);
  t.equal(balancer.effectiveWeight(peers[2]!), 1, 'not yet');
  now = ADAPTIVE_REFRESH_MS;
  t.ok(balancer.effectiveWeight(peers[2]!) < 0.2, `after the refresh: ${balancer.effectiveWeight(peers[2]!)}`);
  balancer.setStatus('slow', false);
  t.equal(balancer.effectiveWeight(peers[2]!), 0, 'down is still 0');
});
