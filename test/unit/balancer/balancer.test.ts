import t from 'tap';
import { Balancer } from '../../../src/balancer/balancer.js';

const peers = [
  { name: 'a', weight: 2, backup: false },
  { name: 'b', weight: 1, backup: false },
  { name: 'z', weight: 1, backup: true },
];

t.test('backups take no traffic while a primary is eligible', async (t) => {
  const balancer = new Balancer(peers);
  t.same(
    [1, 2, 3, 4, 5, 6].map(() => balancer.pick()?.name),
    ['a', 'b', 'a', 'a', 'b', 'a'],
  );
});

t.test('a peer marked down is skipped until marked up', async (t) => {
  const balancer = new Balancer(peers);
  balancer.setStatus('a', false);
  t.same(
    [1, 2].map(() => balancer.pick()?.name),
    ['b', 'b'],
  );
  balancer.setStatus('a', true);
  t.equal(balancer.pick()?.name, 'a');
});

t.test('peers already tried by the request are skipped', async (t) => {
  const balancer = new Balancer(peers);
  t.equal(balancer.pick(new Set(['a']))?.name, 'b');
  t.equal(balancer.pick(new Set(['a', 'b']))?.name, 'z', 'the backup once every primary was tried');
  t.equal(balancer.pick(new Set(['a', 'b', 'z'])), undefined);
});

t.test('backups serve when every primary is down; readiness follows', async (t) => {
  const balancer = new Balancer(peers);
  balancer.setStatus('a', false);
  balancer.setStatus('b', false);
  t.equal(balancer.pick()?.name, 'z');
  t.ok(balancer.hasEligible());
  balancer.setStatus('z', false);
  t.equal(balancer.pick(), undefined);
  t.notOk(balancer.hasEligible());
});

t.test('a drained peer (weight 0) does not make the balancer ready', async (t) => {
  const balancer = new Balancer([{ name: 'a', weight: 0, backup: false }]);
  t.notOk(balancer.hasEligible());
  t.equal(balancer.pick(), undefined);
});
