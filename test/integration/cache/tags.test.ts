/**
 * Tags with the cache on: fresh for cache.tags.ttl (or the first cache.tags.rules entry that
 * matches), and the last manifest seen served when every upstream fails (stale-if-error), so an
 * image pulls by tag with every mirror down — whichever way each mirror fails.
 */
import t, { type Test } from 'tap';
import { hang, registryAnswer, registryStatus, startFakeUpstream, type FakeHandler, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

const MANIFEST = '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}';
const PATH = '/v2/library/x/manifests/v1';

t.test('a tag is answered from memory while fresh', async (t) => {
  const upstream = await startFakeUpstream(registryAnswer(MANIFEST));
  t.teardown(() => upstream.close());
  const gw = await startGateway(upstreamsYaml([['u', upstream.url, 1]]) + 'cache: { dir: cache, tags: { ttl: 1h } }\n');
  t.teardown(() => gw.close());
  t.equal(await (await fetch(`${gw.url}${PATH}`)).text(), MANIFEST);
  const again = await fetch(`${gw.url}${PATH}`);
  t.equal(again.headers.get('x-cache'), 'HIT');
  t.equal(await again.text(), MANIFEST);
  const other = await fetch(`${gw.url}${PATH}`, { headers: { accept: 'application/vnd.oci.image.index.v1+json' } });
  t.equal(other.headers.get('x-cache'), null, 'another Accept is another answer: asked upstream');
  await other.text();
  t.equal(upstream.requests.length, 2);
});

t.test('with ttl 0s every tag request asks; with every upstream failing, the last manifest is served STALE', async (t) => {
  const a = await startFakeUpstream(registryAnswer(MANIFEST));
  const b = await startFakeUpstream(registryAnswer(MANIFEST));
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const gw = await startGateway(
    upstreamsYaml([
      ['a', a.url, 1],
      ['b', b.url, 1],
    ]) + 'cache: { dir: cache, tags: { ttl: 0s } }\n',
  );
  t.teardown(() => gw.close());
  for (let i = 0; i < 2; i++) t.equal((await fetch(`${gw.url}${PATH}`)).headers.get('x-cache'), null, `request ${i + 1} went upstream`);
  t.equal(a.requests.length + b.requests.length, 2);

  a.handle(registryStatus(503, 'UNAVAILABLE'));
  b.handle(registryStatus(429, 'TOOMANYREQUESTS'));
  const stale = await fetch(`${gw.url}${PATH}`);
  t.equal(stale.status, 200, 'the pull still works');
  t.equal(stale.headers.get('x-cache'), 'STALE');
  t.equal(await stale.text(), MANIFEST);
  const head = await fetch(`${gw.url}${PATH}`, { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(head.headers.get('x-cache'), 'STALE');
  t.equal(await gw.metric('mirrorgate_cache_requests_total', { result: 'stale' }), 2, 'counted');
  t.equal(gw.logs().filter((line) => line['event'] === 'cache' && line['level'] === 40).length, 2, 'and a warning each');

  const unknown = await fetch(`${gw.url}/v2/library/never-seen/manifests/v1`);
  t.equal(unknown.status, 503, 'a tag never seen cannot be served stale');
  await unknown.text();
});

t.test('every upstream saying 404 is an answer, not an error: no stale manifest', async (t) => {
  const upstream = await startFakeUpstream(registryAnswer(MANIFEST));
  t.teardown(() => upstream.close());
  const gw = await startGateway(upstreamsYaml([['u', upstream.url, 1]]) + 'cache: { dir: cache, tags: { ttl: 0s } }\n');
  t.teardown(() => gw.close());
  await (await fetch(`${gw.url}${PATH}`)).text();
  upstream.handle(registryStatus(404, 'MANIFEST_UNKNOWN'));
  const gone = await fetch(`${gw.url}${PATH}`);
  t.equal(gone.status, 404);
  await gone.text();
});

t.test('cache.tags.rules: the first matching rule sets the ttl, others get cache.tags.ttl', async (t) => {
  const upstream = await startFakeUpstream(registryAnswer(MANIFEST));
  t.teardown(() => upstream.close());
  let now = 1_000_000;
  const gw = await startGateway(
    upstreamsYaml([['u', upstream.url, 1]]) +
      'cache: { dir: cache, tags: { ttl: 1h, rules: [{ match: "*:latest", ttl: 1m }, { match: "library/*", ttl: 0s }] } }\n',
    { now: () => now },
  );
  t.teardown(() => gw.close());
  const get = async (path: string): Promise<string | null> => {
    const res = await fetch(`${gw.url}${path}`);
    await res.text();
    return res.headers.get('x-cache');
  };
  const latest = '/v2/library/x/manifests/latest';
  const pinned = '/v2/library/x/manifests/v1';
  const other = '/v2/myorg/x/manifests/v1';
  for (const path of [latest, pinned, other]) t.equal(await get(path), null, `${path}: first request asks`);
  t.equal(await get(latest), 'HIT', '*:latest is fresh for 1m');
  t.equal(await get(pinned), null, 'library/* has ttl 0s: asks every time');
  t.equal(await get(other), 'HIT', 'no rule: the 1h default');
  now += 60_000;
  t.equal(await get(latest), null, 'after 1m latest asks again');
  t.equal(await get(other), 'HIT', 'the default still holds');
});

/** A mirror's 401 whose token service refuses with `status`: the attempt fails with reason auth. */
async function refusingTokens(t: Test, status: number): Promise<FakeHandler> {
  const tokens = await startFakeUpstream(registryStatus(status, 'DENIED'));
  t.teardown(() => tokens.close());
  return (_req, res) =>
    res.writeHead(401, { 'www-authenticate': `Bearer realm="${tokens.url}/token",service="mirror"`, 'content-type': 'application/json' }).end('{"errors":[]}');
}

/** Each way a lone mirror can fail a tag it served before, and the failover reason that shows it. */
const FAILURES: { name: string; reason: string; fail: (t: Test, mirror: FakeUpstream) => Promise<void> }[] = [
  { name: 'refused', reason: 'connect', fail: (_t, mirror) => mirror.close() },
  { name: 'timeout', reason: 'timeout', fail: async (_t, mirror) => mirror.handle(hang) },
  { name: '5xx', reason: '5xx', fail: async (_t, mirror) => mirror.handle(registryStatus(500, 'UNKNOWN')) },
  { name: '429', reason: 'ratelimit', fail: async (_t, mirror) => mirror.handle(registryStatus(429, 'TOOMANYREQUESTS')) },
  { name: 'token refused (401)', reason: 'auth', fail: async (t, mirror) => mirror.handle(await refusingTokens(t, 401)) },
  { name: 'token forbidden (403)', reason: 'auth', fail: async (t, mirror) => mirror.handle(await refusingTokens(t, 403)) },
];

for (const failure of FAILURES) {
  t.test(`the mirror fails with ${failure.name}: the last manifest seen is served STALE`, async (t) => {
    const mirror = await startFakeUpstream(registryAnswer(MANIFEST));
    t.teardown(() => mirror.close());
    const gw = await startGateway(upstreamsYaml([['u', mirror.url, 1]], ', timeouts: { headers: 200ms }') + 'cache: { dir: cache, tags: { ttl: 0s } }\n');
    t.teardown(() => gw.close());
    await (await fetch(`${gw.url}${PATH}`)).text();
    await failure.fail(t, mirror);
    const stale = await fetch(`${gw.url}${PATH}`);
    t.equal(stale.status, 200);
    t.equal(stale.headers.get('x-cache'), 'STALE');
    t.equal(await stale.text(), MANIFEST);
    t.equal(await gw.metric('mirrorgate_failovers_total', { upstream: 'u', reason: failure.reason }), 1, `the mirror failed with reason ${failure.reason}`);
  });
}
