import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { registryAnswer, startFakeUpstream, type FakeHandler } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

/** Answers like a registry, but only after `ms`: a crawling mirror. */
const crawling =
  (ms: number, body: string): FakeHandler =>
  (req, res) => {
    setTimeout(() => registryAnswer(body)(req, res), ms);
  };

// One request every 150 ms: opossum's window (volumeThreshold 10 within 10 s) would need ten of
// them; the count of calls in a row does not care how far apart they come.
const LOW_RATE = 'breaker: { volumeThreshold: 10, window: 10s, resetTimeout: 1m, consecutiveFailures: 3, slowCall: { threshold: 100ms, rate: 50% } }\n';
const NO_HEDGE = 'failover: { hedge: false }\n';

t.test('a crawling mirror (answers, too late) opens its breaker after three slow calls at a low request rate', async (t) => {
  const slow = await startFakeUpstream(crawling(300, '{"from":"slow"}'));
  const fast = await startFakeUpstream(registryAnswer('{"from":"fast"}'));
  t.teardown(() => Promise.all([slow.close(), fast.close()]));
  const gw = await startGateway(
    upstreamsYaml([
      ['slow', slow.url, 1],
      ['fast', fast.url, 1],
    ]) +
      LOW_RATE +
      NO_HEDGE,
  );
  t.teardown(() => gw.close());
  for (let i = 0; i < 8; i++) {
    t.equal((await fetch(`${gw.url}/v2/x/manifests/v1`)).status, 200);
    await sleep(150);
  }
  t.equal(slow.requests.length, 3, 'three slow answers, then no more');
  t.equal(await gw.metric('mirrorgate_breaker_state', { upstream: 'slow' }), 2, 'open');
});

t.test('a frozen mirror (never answers) opens its breaker after three header timeouts at a low request rate', async (t) => {
  const frozen = await startFakeUpstream(() => {});
  const fast = await startFakeUpstream(registryAnswer('{"from":"fast"}'));
  t.teardown(() => Promise.all([frozen.close(), fast.close()]));
  const gw = await startGateway(
    upstreamsYaml(
      [
        ['frozen', frozen.url, 1],
        ['fast', fast.url, 1],
      ],
      ', timeouts: { headers: 200ms }',
    ) +
      LOW_RATE +
      NO_HEDGE,
  );
  t.teardown(() => gw.close());
  for (let i = 0; i < 8; i++) {
    t.equal(await (await fetch(`${gw.url}/v2/x/manifests/v1`)).text(), '{"from":"fast"}', 'failed over');
    await sleep(150);
  }
  t.equal(frozen.requests.length, 3, 'three timeouts, then no more');
  t.equal(await gw.metric('mirrorgate_breaker_state', { upstream: 'frozen' }), 2, 'open');
});
