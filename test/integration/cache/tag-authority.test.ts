/**
 * A registry with an `authority`: a tag is resolved with a HEAD there (the client's Accept
 * forwarded) and its manifest served by that digest: from memory, else from the mirrors by
 * digest, else from the authority by digest. A mirror's stale tag never reaches the client while
 * the authority answers; when it does not, the mirrors resolve the tag, then stale-if-error.
 */
import t, { type Test } from 'tap';
import { digestOf, manifestBody, manifestRegistry } from '../helpers/fake-manifests.js';
import { startFakeTokenRegistry } from '../helpers/fake-token-registry.js';
import { MANIFEST_TYPE, closedPort, hang, registryStatus, startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const OLD = manifestBody('old');
const NEW = manifestBody('new');
const NEWER = manifestBody('newer');
const PATH = '/v2/library/x/manifests/latest';
const INDEX_ACCEPT = 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json';

/** A mirror whose `latest` lags (OLD) but that holds NEW and NEWER by digest, unless told otherwise. */
async function lagging(t: Test, untagged: readonly string[] = [NEW, NEWER]): Promise<FakeUpstream> {
  const mirror = await startFakeUpstream(manifestRegistry({ latest: OLD }, untagged));
  t.teardown(() => mirror.close());
  return mirror;
}

async function gatewayFor(
  t: Test,
  mirror: string,
  authority: string,
  options: { ttl?: string; now?: () => number; authorityExtra?: string } = {},
): Promise<TestGateway> {
  const gw = await startGateway(
    `upstreams:\n  - { name: m, url: "${mirror}" }\n` +
      `authority: { name: auth, url: "${authority}"${options.authorityExtra ?? ''} }\n` +
      `cache: { dir: cache, tags: { ttl: ${options.ttl ?? '1h'} } }\n`,
    options.now === undefined ? {} : { now: options.now },
  );
  t.teardown(() => gw.close());
  return gw;
}

/** The manifest requests an upstream got (the config blob each image manifest names is read ahead too: not what these tests are about). */
const asked = (upstream: FakeUpstream): FakeUpstream['requests'] => upstream.requests.filter((r) => r.url.includes('/manifests/'));
const since = (upstream: FakeUpstream, mark: number): string[] =>
  asked(upstream)
    .slice(mark)
    .map((r) => `${r.method} ${r.url}`);

t.test("a tag is resolved at the authority and its digest fetched from the mirror, never the mirror's tag", async (t) => {
  const mirror = await lagging(t);
  const tags = { latest: NEW };
  const authority = await startFakeUpstream(manifestRegistry(tags));
  t.teardown(() => authority.close());
  let now = 1_000_000;
  const gw = await gatewayFor(t, mirror.url, authority.url, { ttl: '1m', now: () => now });

  const res = await fetch(`${gw.url}${PATH}`, { headers: { accept: INDEX_ACCEPT } });
  t.equal(res.status, 200);
  t.equal(res.headers.get('docker-content-digest'), digestOf(NEW), "the authority's digest");
  t.equal(res.headers.get('content-type'), MANIFEST_TYPE);
  t.equal(res.headers.get('content-length'), String(Buffer.byteLength(NEW)));
  t.equal(await res.text(), NEW);
  t.same(since(authority, 0), [`HEAD ${PATH}`], 'one HEAD at the authority');
  t.equal(authority.requests[0]!.headers.accept, INDEX_ACCEPT, "with the client's Accept");
  t.same(since(mirror, 0), [`GET /v2/library/x/manifests/${digestOf(NEW)}`], 'the mirror asked by digest only');
  t.equal(asked(mirror)[0]!.headers.accept, INDEX_ACCEPT);
  t.equal(await gw.metric('mirrorgate_tag_resolutions_total', { registry: 'docker.io', result: 'resolved' }), 1);

  const again = await fetch(`${gw.url}${PATH}`, { headers: { accept: INDEX_ACCEPT } });
  t.equal(again.headers.get('x-cache'), 'HIT', 'fresh: from memory');
  t.equal(await again.text(), NEW);
  t.equal(asked(authority).length + asked(mirror).length, 2, 'nobody asked');

  now += 61_000;
  const revalidated = await fetch(`${gw.url}${PATH}`, { headers: { accept: INDEX_ACCEPT } });
  t.equal(revalidated.headers.get('x-cache'), 'HIT', 'the ttl ran out: the authority says the same digest, held in memory');
  t.equal(await revalidated.text(), NEW);
  t.same(since(authority, 1), [`HEAD ${PATH}`]);
  t.equal(asked(mirror).length, 1, 'the mirror not asked');

  tags.latest = NEWER;
  now += 61_000;
  const moved = await fetch(`${gw.url}${PATH}`, { headers: { accept: INDEX_ACCEPT } });
  t.equal(moved.headers.get('docker-content-digest'), digestOf(NEWER), 'the tag moved at the authority');
  t.equal(await moved.text(), NEWER);
  t.same(since(mirror, 1), [`GET /v2/library/x/manifests/${digestOf(NEWER)}`]);
});

t.test("a HEAD by tag is answered from the authority's HEAD; the GET by digest that follows goes to the mirror", async (t) => {
  const mirror = await lagging(t);
  const authority = await startFakeUpstream(manifestRegistry({ latest: NEW }));
  t.teardown(() => authority.close());
  const gw = await gatewayFor(t, mirror.url, authority.url);
  const head = await fetch(`${gw.url}${PATH}`, { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(head.headers.get('docker-content-digest'), digestOf(NEW));
  t.equal(head.headers.get('content-length'), String(Buffer.byteLength(NEW)));
  t.equal(head.headers.get('content-type'), MANIFEST_TYPE);
  t.same(since(mirror, 0), [], 'the mirror not asked');
  const get = await fetch(`${gw.url}/v2/library/x/manifests/${digestOf(NEW)}`);
  t.equal(await get.text(), NEW);
  t.same(since(mirror, 0), [`GET /v2/library/x/manifests/${digestOf(NEW)}`]);
  t.same(since(authority, 0), [`HEAD ${PATH}`], 'the authority asked once, by HEAD');
});

t.test('a digest no mirror holds yet is fetched from the authority, by digest', async (t) => {
  const mirror = await lagging(t, []);
  const authority = await startFakeUpstream(manifestRegistry({ latest: NEW }));
  t.teardown(() => authority.close());
  const gw = await gatewayFor(t, mirror.url, authority.url);
  const res = await fetch(`${gw.url}${PATH}`);
  t.equal(res.status, 200);
  t.equal(await res.text(), NEW);
  t.same(since(mirror, 0), [`GET /v2/library/x/manifests/${digestOf(NEW)}`], 'the mirror said 404');
  t.same(since(authority, 0), [`HEAD ${PATH}`, `GET /v2/library/x/manifests/${digestOf(NEW)}`]);
  t.equal((await fetch(`${gw.url}${PATH}`)).headers.get('x-cache'), 'HIT', 'and kept');
});

t.test("nobody can serve the authority's digest: the mirror's tag, rather than no image", async (t) => {
  const mirror = await lagging(t, []);
  const authority = await startFakeUpstream((req, res) =>
    req.method === 'HEAD' ? manifestRegistry({ latest: NEW })(req, res) : registryStatus(503, 'UNAVAILABLE')(req, res),
  );
  t.teardown(() => authority.close());
  const gw = await gatewayFor(t, mirror.url, authority.url);
  const res = await fetch(`${gw.url}${PATH}`);
  t.equal(res.status, 200);
  t.equal(res.headers.get('docker-content-digest'), digestOf(OLD));
  t.equal(await res.text(), OLD);
  t.same(since(mirror, 0), [`GET /v2/library/x/manifests/${digestOf(NEW)}`, `GET ${PATH}`]);
});

t.test("the authority's 404 is the answer, and remembered", async (t) => {
  const mirror = await lagging(t);
  const authority = await startFakeUpstream(manifestRegistry({}));
  t.teardown(() => authority.close());
  const gw = await gatewayFor(t, mirror.url, authority.url);
  const res = await fetch(`${gw.url}${PATH}`);
  t.equal(res.status, 404);
  t.match(await res.json(), { errors: [{ code: 'MANIFEST_UNKNOWN' }] });
  t.equal(res.headers.get('x-cache'), null);
  t.same(since(mirror, 0), [], "the mirror's stale tag is not served");
  const again = await fetch(`${gw.url}${PATH}`);
  t.equal(again.status, 404);
  t.equal(again.headers.get('x-cache'), 'NEGATIVE');
  t.match(await again.json(), { errors: [{ code: 'MANIFEST_UNKNOWN' }] });
  t.equal(authority.requests.length, 1, 'the second 404 asked nobody');
  t.equal(await gw.metric('mirrorgate_tag_resolutions_total', { result: 'not_found' }), 1);
  t.equal(await gw.metric('mirrorgate_cache_requests_total', { result: 'negative' }), 1);
});

/** Each way the authority can fail, as a server to point the authority at. */
const FAILURES: { name: string; start: (t: Test) => Promise<{ url: string; extra?: string }> }[] = [
  { name: 'refused', start: async () => ({ url: `http://127.0.0.1:${await closedPort()}` }) },
  { name: 'timeout', start: (t) => serve(t, hang).then(({ url }) => ({ url, extra: ', timeouts: { headers: 200ms }' })) },
  { name: '5xx', start: (t) => serve(t, registryStatus(503, 'UNAVAILABLE')) },
  { name: '429', start: (t) => serve(t, registryStatus(429, 'TOOMANYREQUESTS', { 'retry-after': '60' })) },
  { name: '403', start: (t) => serve(t, registryStatus(403, 'DENIED')) },
  { name: '200 without a digest', start: (t) => serve(t, (_req, res) => res.writeHead(200, { 'content-type': MANIFEST_TYPE }).end()) },
  {
    name: '200 with a malformed digest',
    start: (t) => serve(t, (_req, res) => res.writeHead(200, { 'content-type': MANIFEST_TYPE, 'docker-content-digest': 'sha256:../../etc' }).end()),
  },
  { name: 'token refused (401)', start: (t) => tokenRegistry(t, 401) },
  { name: 'token forbidden (403)', start: (t) => tokenRegistry(t, 403) },
];

async function serve(t: Test, handler: Parameters<typeof startFakeUpstream>[0]): Promise<{ url: string }> {
  const server = await startFakeUpstream(handler);
  t.teardown(() => server.close());
  return { url: server.url };
}

async function tokenRegistry(t: Test, tokenStatus: number): Promise<{ url: string }> {
  const hub = await startFakeTokenRegistry(NEW, { service: 'auth', tokenStatus });
  t.teardown(() => hub.close());
  return { url: hub.registry.url };
}

for (const failure of FAILURES) {
  t.test(`authority ${failure.name}: the mirrors resolve the tag; with them failing too, STALE`, async (t) => {
    const mirror = await lagging(t);
    const authority = await failure.start(t);
    const gw = await gatewayFor(t, mirror.url, authority.url, { ttl: '0s', ...(authority.extra !== undefined && { authorityExtra: authority.extra }) });
    const res = await fetch(`${gw.url}${PATH}`);
    t.equal(res.status, 200, 'the pull works');
    t.equal(res.headers.get('docker-content-digest'), digestOf(OLD), "the mirror's tag");
    t.equal(await res.text(), OLD);
    t.same(since(mirror, 0), [`GET ${PATH}`]);
    t.equal(await gw.metric('mirrorgate_tag_resolutions_total', { result: 'failed' }), 1);
    t.ok(
      gw.logs().some((line) => line['event'] === 'authority' && line['level'] === 40),
      'a warning',
    );

    mirror.handle(registryStatus(503, 'UNAVAILABLE'));
    const stale = await fetch(`${gw.url}${PATH}`);
    t.equal(stale.status, 200);
    t.equal(stale.headers.get('x-cache'), 'STALE');
    t.equal(await stale.text(), OLD);
  });
}
