import t from 'tap';
import { Balancer } from '../../../src/balancer/balancer.js';
import { MIN_SHARE } from '../../../src/balancer/slow-start.js';

const peers = [
  { name: 'a', weight: 5, backup: false },
  { name: 'b', weight: 1, backup: false },
  { name: 'c', weight: 1, backup: false },
];

const picks = (balancer: Balancer, n: number): string[] => Array.from({ length: n }, () => balancer.pick()?.name ?? '-');
const count = (names: string[], name: string): number => names.filter((n) => n === name).length;

t.test("nothing ramping: nginx's exact sequence, even with slow start configured", async (t) => {
  const balancer = new Balancer(peers, { slowStartMs: 30_000, now: () => 0 });
  t.same(picks(balancer, 7), ['a', 'a', 'b', 'a', 'c', 'a', 'a']);
  balancer.setStatus('b', true); // up from the start: not a return
  t.same(picks(balancer, 7), ['a', 'a', 'b', 'a', 'c', 'a', 'a']);
});

t.test('a peer that comes back ramps from a small share to its weight', async (t) => {
  let now = 0;
  const balancer = new Balancer(peers, { slowStartMs: 10_000, now: () => now });
  balancer.setStatus('a', false);
  balancer.setStatus('a', true);
  t.equal(balancer.effectiveWeight(peers[0]!), 5, 'its whole weight until its first request (a half-open trial)');
  t.equal(balancer.pick()?.name, 'a');
  t.equal(balancer.effectiveWeight(peers[0]!), 5 * MIN_SHARE, 'then it starts at MIN_SHARE of its weight');
  const early = picks(balancer, 140);
  now = 5_000;
  t.equal(balancer.effectiveWeight(peers[0]!), 2.5, 'half way: half its weight');
  const middle = picks(balancer, 140);
  now = 10_000;
  t.equal(balancer.effectiveWeight(peers[0]!), 5, 'the whole weight at the end');
  const late = picks(balancer, 140);
  // Shares of a: 0.25/2.25 ≈ 11 %, 2.5/4.5 ≈ 56 %, 5/7 ≈ 71 %.
  t.ok(Math.abs(count(early, 'a') - Math.round((140 * 0.25) / 2.25)) <= 1, 'about 11 %');
  t.equal(count(middle, 'a'), Math.round((140 * 2.5) / 4.5));
  t.equal(count(late, 'a'), 100);
  t.ok(count(early, 'a') < count(middle, 'a') && count(middle, 'a') < count(late, 'a'), 'the share grows');
});

t.test('once the ramp is over the pick sequence is the smooth one again', async (t) => {
  let now = 0;
  const balancer = new Balancer(peers, { slowStartMs: 1_000, now: () => now });
  balancer.setStatus('c', false);
  balancer.setStatus('c', true);
  picks(balancer, 10);
  now = 1_000;
  const after = picks(balancer, 70);
  t.same([count(after, 'a'), count(after, 'b'), count(after, 'c')], [50, 10, 10]);
});

t.test('going down again ends the ramp; the only eligible peer is picked while it ramps', async (t) => {
  const balancer = new Balancer(peers, { slowStartMs: 60_000, now: () => 0 });
  for (const name of ['a', 'b', 'c']) balancer.setStatus(name, false);
  balancer.setStatus('b', true);
  t.same(picks(balancer, 3), ['b', 'b', 'b']);
  balancer.setStatus('b', false);
  t.equal(balancer.effectiveWeight(peers[1]!), 0, 'down: no weight');
});

t.test('slowStartMs 0: a return gets its whole weight at once', async (t) => {
  const balancer = new Balancer(peers, { slowStartMs: 0, now: () => 0 });
  balancer.setStatus('a', false);
  balancer.setStatus('a', true);
  t.equal(balancer.effectiveWeight(peers[0]!), 5);
  t.same(picks(balancer, 7), ['a', 'a', 'b', 'a', 'c', 'a', 'a']);
});

t.test('a reload keeps a ramp going', async (t) => {
  let now = 0;
  const old = new Balancer(peers, { slowStartMs: 10_000, now: () => now });
  old.setStatus('a', false);
  old.setStatus('a', true);
  old.pick();
  now = 2_000;
  const fresh = new Balancer(peers, { slowStartMs: 10_000, now: () => now });
  fresh.carryOver(old);
  t.equal(fresh.effectiveWeight(peers[0]!), 1, 'a fifth of the way, as before the reload');
});
