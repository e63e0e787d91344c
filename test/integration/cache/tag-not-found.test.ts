/**
 * The negative cache for tags: when every upstream tried answers 404 MANIFEST_UNKNOWN or
 * NAME_UNKNOWN for a tag, the 404 is remembered for cache.tags.notFoundTtl and answered again
 * without asking an upstream (X-Cache: NEGATIVE); once the ttl ran out (an injected clock, not
 * a wait) the upstreams are asked again. A 404 that says nothing of the manifest, or a failure
 * among the 404s, is not remembered.
 */
import t, { type Test } from 'tap';
import { manifestBody, manifestRegistry } from '../helpers/fake-manifests.js';
import { registryStatus, startFakeUpstream, type FakeHandler, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const PATH = '/v2/library/x/manifests/v1';

async function setup(t: Test, a: FakeHandler, b: FakeHandler): Promise<{ a: FakeUpstream; b: FakeUpstream; gw: TestGateway; clock: { now: number } }> {
  const [ua, ub] = await Promise.all([startFakeUpstream(a), startFakeUpstream(b)]);
  t.teardown(() => Promise.all([ua.close(), ub.close()]));
  const clock = { now: 1_000_000 };
  const gw = await startGateway(
    `upstreams:\n  - { name: a, url: "${ua.url}" }\n  - { name: b, url: "${ub.url}" }\ncache: { dir: cache, tags: { ttl: 0s, notFoundTtl: 15s } }\n`,
    { now: () => clock.now },
  );
  t.teardown(() => gw.close());
  return { a: ua, b: ub, gw, clock };
}

const asked = (...upstreams: FakeUpstream[]): number => upstreams.reduce((sum, u) => sum + u.requests.length, 0);

t.test('a second 404 within the ttl asks no upstream; after it, they are asked again', async (t) => {
  const { a, b, gw, clock } = await setup(t, registryStatus(404, 'MANIFEST_UNKNOWN'), registryStatus(404, 'NAME_UNKNOWN'));
  const first = await fetch(`${gw.url}${PATH}`);
  t.equal(first.status, 404);
  t.equal(first.headers.get('x-cache'), null);
  await first.text();
  t.equal(asked(a, b), 2, 'both upstreams said 404');

  clock.now += 14_999;
  const second = await fetch(`${gw.url}${PATH}`);
  t.equal(second.status, 404);
  t.equal(second.headers.get('x-cache'), 'NEGATIVE');
  t.equal(second.headers.get('docker-distribution-api-version'), 'registry/2.0');
  t.match(await second.json(), { errors: [{ code: 'MANIFEST_UNKNOWN' }] });
  const head = await fetch(`${gw.url}${PATH}`, { method: 'HEAD' });
  t.equal(head.status, 404);
  t.equal(head.headers.get('x-cache'), 'NEGATIVE');
  t.equal(asked(a, b), 2, 'no upstream asked');
  t.equal(await gw.metric('mirrorgate_cache_requests_total', { result: 'negative' }), 2);

  clock.now += 1;
  const third = await fetch(`${gw.url}${PATH}`);
  t.equal(third.status, 404);
  t.equal(third.headers.get('x-cache'), null, 'the ttl ran out');
  await third.text();
  t.equal(asked(a, b), 4, 'the upstreams were asked again');
});

t.test('a tag pushed after its 404 is served once the ttl ran out, and its 404 forgotten', async (t) => {
  const tags: Record<string, string> = {};
  const { a, b, gw, clock } = await setup(t, manifestRegistry(tags), manifestRegistry(tags));
  t.equal((await fetch(`${gw.url}${PATH}`)).status, 404);
  tags['v1'] = manifestBody('pushed');
  t.equal((await fetch(`${gw.url}${PATH}`)).headers.get('x-cache'), 'NEGATIVE', 'still remembered');
  clock.now += 15_000;
  const served = await fetch(`${gw.url}${PATH}`);
  t.equal(served.status, 200);
  t.equal(await served.text(), tags['v1']);
  const before = asked(a, b);
  const again = await fetch(`${gw.url}${PATH}`);
  t.equal(again.status, 200, 'not a 404 from memory');
  await again.text();
  t.equal(asked(a, b), before + 1, 'ttl 0s: asked upstream again');
});

t.test('not remembered: a 404 among failures, and a 404 that is not a registry MANIFEST/NAME_UNKNOWN', async (t) => {
  const plain404: FakeHandler = (_req, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>');
  const cases: [string, FakeHandler, FakeHandler, number][] = [
    ['404 and 503', registryStatus(404, 'MANIFEST_UNKNOWN'), registryStatus(503, 'UNAVAILABLE'), 503],
    ['html 404s', plain404, plain404, 404],
  ];
  for (const [name, ha, hb, status] of cases) {
    await t.test(name, async (t) => {
      const { a, b, gw } = await setup(t, ha, hb);
      for (let i = 1; i <= 2; i++) {
        const res = await fetch(`${gw.url}${PATH}`);
        t.equal(res.status, status);
        t.equal(res.headers.get('x-cache'), null, `request ${i} was not answered from memory`);
        await res.text();
      }
      t.equal(asked(a, b), 4);
    });
  }
});

t.test('notFoundTtl 0s remembers nothing', async (t) => {
  const upstream = await startFakeUpstream(registryStatus(404, 'MANIFEST_UNKNOWN'));
  t.teardown(() => upstream.close());
  const gw = await startGateway(`upstreams:\n  - { name: a, url: "${upstream.url}" }\ncache: { dir: cache, tags: { notFoundTtl: 0s } }\n`);
  t.teardown(() => gw.close());
  for (let i = 0; i < 2; i++) await (await fetch(`${gw.url}${PATH}`)).text();
  t.equal(upstream.requests.length, 2);
});

t.test('a 404 is forgotten when a request that was already running finds the tag', async (t) => {
  // The first request is held at the mirror while a second one gets a 404; then the first is
  // answered 200. The tag exists: the next request (ttl 0s) must ask, not answer NEGATIVE.
  const held: (() => void)[] = [];
  const body = manifestBody('racing');
  const found = manifestRegistry({ v1: body });
  const missing = registryStatus(404, 'MANIFEST_UNKNOWN');
  let n = 0;
  const { a, gw } = await setup(t, (req, res) => (++n === 1 ? held.push(() => found(req, res)) : missing(req, res)), missing);
  const first = fetch(`${gw.url}${PATH}`);
  while (held.length === 0) await new Promise((resolve) => setImmediate(resolve));
  const second = await fetch(`${gw.url}${PATH}`);
  t.equal(second.status, 404);
  await second.text();
  held[0]!();
  t.equal(await (await first).text(), body);
  const third = await fetch(`${gw.url}${PATH}`);
  t.not(third.headers.get('x-cache'), 'NEGATIVE', 'the tag exists: its 404 was forgotten');
  await third.text();
  t.ok(a.requests.length >= 3, 'the mirror was asked again');
});
