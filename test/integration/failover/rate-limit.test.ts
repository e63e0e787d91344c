import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { registryAnswer, registryStatus, startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

t.test('a 429 keeps the upstream out of rotation for its Retry-After, then it comes back', async (t) => {
  const limited = await startFakeUpstream(registryStatus(429, 'TOOMANYREQUESTS', { 'retry-after': '1' }));
  const other = await startFakeUpstream(registryAnswer('{"from":"other"}'));
  t.teardown(() => Promise.all([limited.close(), other.close()]));
  // resetTimeout is short: the hold must come from Retry-After, not from the breaker settings.
  const gw = await startGateway(
    upstreamsYaml([
      ['limited', limited.url, 1],
      ['other', other.url, 1],
    ]) + 'breaker: { resetTimeout: 100ms }\n',
  );
  t.teardown(() => gw.close());

  const get = async (): Promise<string> => await (await fetch(`${gw.url}/v2/x/manifests/v1`)).text();
  t.equal(await get(), '{"from":"other"}', 'failed over from the 429');
  t.equal(await gw.metric('mirrorgate_failovers_total', { upstream: 'limited', reason: 'ratelimit' }), 1);
  t.equal(await gw.metric('mirrorgate_breaker_state', { upstream: 'limited' }), 2, 'open');
  await sleep(400);
  for (let i = 0; i < 4; i++) t.equal(await get(), '{"from":"other"}');
  t.equal(limited.requests.length, 1, 'still out after resetTimeout, within Retry-After');

  limited.handle(registryAnswer('{"from":"limited"}'));
  await sleep(900);
  const seen = new Set<string>();
  for (let i = 0; i < 4; i++) seen.add(await get());
  t.ok(seen.has('{"from":"limited"}'), 'back in rotation after Retry-After');
});

t.test("Docker Hub's ratelimit headers pass through", async (t) => {
  const hub = await startFakeUpstream(registryAnswer('{}', { 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '76;w=21600' }));
  t.teardown(() => hub.close());
  const gw = await startGateway(upstreamsYaml([['hub', hub.url, 1]]));
  t.teardown(() => gw.close());
  const res = await fetch(`${gw.url}/v2/library/x/manifests/v1`, { method: 'HEAD' });
  t.equal(res.headers.get('ratelimit-limit'), '100;w=21600');
  t.equal(res.headers.get('ratelimit-remaining'), '76;w=21600');
});
