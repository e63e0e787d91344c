import t from 'tap';
import { registryAnswer, startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

t.test('a manifest the first mirror does not answer is hedged to the second, which wins; the loser is not counted against its breaker', async (t) => {
  const frozen = await startFakeUpstream(() => {});
  const good = await startFakeUpstream(registryAnswer('{"from":"good"}'));
  t.teardown(() => Promise.all([frozen.close(), good.close()]));
  const gw = await startGateway(
    // frozen's weight makes it the first pick; consecutiveFailures 1 would open on one counted loser.
    upstreamsYaml([
      ['frozen', frozen.url, 5],
      ['good', good.url, 1],
    ]) + 'failover: { hedge: { after: 100ms } }\nbreaker: { consecutiveFailures: 1 }\n',
  );
  t.teardown(() => gw.close());

  const res = await fetch(`${gw.url}/v2/library/x/manifests/v1`);
  t.equal(res.status, 200);
  t.equal(await res.text(), '{"from":"good"}', 'answered by the second mirror');
  t.equal(frozen.requests.length, 1, 'the first mirror got the request');
  t.equal(await gw.metric('mirrorgate_hedges_fired_total'), 1);
  t.equal(await gw.metric('mirrorgate_hedges_won_total'), 1);
  t.equal(await gw.metric('mirrorgate_breaker_state', { upstream: 'frozen' }), 0, 'the aborted loser is not a failure');

  const head = await fetch(`${gw.url}/v2/library/x/manifests/v1`, { method: 'HEAD' });
  t.equal(head.status, 200, 'a HEAD is hedged too');
  t.equal(await gw.metric('mirrorgate_hedges_won_total'), 2);
});

t.test('a fast first answer fires no hedge', async (t) => {
  const good = await startFakeUpstream(registryAnswer('{"from":"good"}'));
  const other = await startFakeUpstream(registryAnswer('{"from":"other"}'));
  t.teardown(() => Promise.all([good.close(), other.close()]));
  const gw = await startGateway(
    upstreamsYaml([
      ['good', good.url, 1],
      ['other', other.url, 1],
    ]) + 'failover: { hedge: { after: 2s } }\n',
  );
  t.teardown(() => gw.close());
  for (let i = 0; i < 4; i++) t.equal((await fetch(`${gw.url}/v2/library/x/manifests/v1`)).status, 200);
  t.equal(good.requests.length + other.requests.length, 4, 'one request each');
  t.equal(await gw.metric('mirrorgate_hedges_fired_total'), 0);
});

t.test('a hedge never goes back to a mirror the first request already left (frozen, then a slow one)', async (t) => {
  const frozen = await startFakeUpstream(() => {});
  const answer = registryAnswer('{"from":"slow"}');
  const slow = await startFakeUpstream((req, res) => void setTimeout(() => answer(req, res), 3000));
  t.teardown(() => Promise.all([frozen.close(), slow.close()]));
  const gw = await startGateway(
    // The first request times out at frozen (100 ms, within undici's timer granularity of about a
    // second) and fails over to slow, which answers after 3 s; the hedge is due at 2 s.
    'upstreams:\n' +
      `  - { name: frozen, url: "${frozen.url}", weight: 5, timeouts: { headers: 100ms } }\n` +
      `  - { name: slow, url: "${slow.url}", weight: 1 }\n` +
      'failover: { hedge: { after: 2s } }\n',
  );
  t.teardown(() => gw.close());
  const res = await fetch(`${gw.url}/v2/library/x/manifests/v1`);
  t.equal(res.status, 200);
  t.equal(await res.text(), '{"from":"slow"}');
  t.equal(frozen.requests.length, 1, 'frozen asked once: the hedge had no mirror left to try');
  t.equal(slow.requests.length, 1, 'and slow once');
});
