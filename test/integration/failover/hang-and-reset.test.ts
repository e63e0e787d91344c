import t from 'tap';
import { hang, registryAnswer, resetBeforeHeaders, startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

t.test('an upstream that never answers times out and fails over', async (t) => {
  const frozen = await startFakeUpstream(hang);
  const good = await startFakeUpstream(registryAnswer('{"from":"good"}'));
  t.teardown(() => Promise.all([frozen.close(), good.close()]));
  const gw = await startGateway(
    upstreamsYaml(
      [
        ['frozen', frozen.url, 5],
        ['good', good.url, 1],
      ],
      ', timeouts: { headers: 300ms }',
    ),
  );
  t.teardown(() => gw.close());

  const res = await fetch(`${gw.url}/v2/library/x/manifests/v1`);
  t.equal(res.status, 200);
  t.equal(await res.text(), '{"from":"good"}');
  t.equal(frozen.requests.length, 1, 'the frozen upstream got the first attempt');
  t.equal(await gw.metric('mirrorgate_failovers_total', { upstream: 'frozen', reason: 'timeout' }), 1);
});

t.test('a connection reset before headers fails over', async (t) => {
  const flaky = await startFakeUpstream(resetBeforeHeaders);
  const good = await startFakeUpstream(registryAnswer('{"from":"good"}'));
  t.teardown(() => Promise.all([flaky.close(), good.close()]));
  const gw = await startGateway(
    upstreamsYaml([
      ['flaky', flaky.url, 5],
      ['good', good.url, 1],
    ]),
  );
  t.teardown(() => gw.close());

  const res = await fetch(`${gw.url}/v2/library/x/manifests/v1`);
  t.equal(res.status, 200);
  t.equal(await gw.metric('mirrorgate_failovers_total', { upstream: 'flaky', reason: 'reset' }), 1);
});
