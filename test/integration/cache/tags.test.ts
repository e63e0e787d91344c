/**
 * Tags with the cache on: fresh for cache.tags.ttl, and the last manifest seen served when every
 * upstream fails (stale-if-error), so an image pulls by tag with every mirror down.
 */
import t from 'tap';
import { registryAnswer, registryStatus, startFakeUpstream } from '../helpers/fake-upstream.js';
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
