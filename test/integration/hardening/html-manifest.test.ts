/**
 * Issue 13, item 1: an HTML page (a captive portal, a CDN error page) is never served as a
 * manifest. The mirror that sends one is failed over and charged for it, by tag and by digest,
 * for GET and HEAD, with the cache off and on.
 */
import { createHash } from 'node:crypto';
import t, { type Test } from 'tap';
import { MANIFEST_TYPE, startFakeUpstream, type FakeHandler } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

const MANIFEST = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_TYPE, config: {}, layers: [] }));
const DIGEST = `sha256:${createHash('sha256').update(MANIFEST).digest('hex')}`;
const PORTAL = Buffer.from('<!doctype html><html><body>Please log in to the hotel wifi</body></html>');

const answer =
  (body: Buffer, headers: Record<string, string>): FakeHandler =>
  (req, res) => {
    res.writeHead(200, { 'content-length': body.length, ...headers });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
const good = answer(MANIFEST, { 'content-type': MANIFEST_TYPE, 'docker-content-digest': DIGEST });
const portal = answer(PORTAL, { 'content-type': 'text/html; charset=utf-8' });

/** Two equal mirrors, the portal first in config order (it wins the balancer's first pick). */
async function twoMirrors(t: Test, liar: FakeHandler, extra = '') {
  const bad = await startFakeUpstream(liar);
  t.teardown(() => bad.close());
  const honest = await startFakeUpstream(good);
  t.teardown(() => honest.close());
  const breaker = 'breaker: { volumeThreshold: 4, errorThresholdPercentage: 40, resetTimeout: 1h }\n';
  const gw = await startGateway(
    upstreamsYaml([
      ['bad', bad.url, 1],
      ['honest', honest.url, 1],
    ]) +
      breaker +
      extra,
  );
  t.teardown(() => gw.close());
  return { gw, bad, honest };
}

for (const cache of [false, true]) {
  const extra = cache ? 'cache: { dir: cache, tags: { ttl: 0s } }\n' : '';
  const label = cache ? 'with the cache' : 'relayed';

  t.test(`${label}: a 200 text/html answer to a tag never reaches the client, and opens the mirror's breaker`, async (t) => {
    const { gw, bad } = await twoMirrors(t, portal, extra);
    for (let i = 0; i < 12; i++) {
      const res = await fetch(`${gw.url}/v2/library/alpine/manifests/latest`);
      t.equal(res.status, 200);
      t.equal(res.headers.get('content-type'), MANIFEST_TYPE, `pull ${i}: the manifest's type`);
      t.same(Buffer.from(await res.arrayBuffer()), MANIFEST, `pull ${i}: the manifest's bytes`);
    }
    const failovers = await gw.metric('mirrorgate_failovers_total', { upstream: 'bad', reason: 'bad_manifest' });
    t.ok(failovers >= 2, `failed over from the portal (${failovers} times)`);
    t.equal(await gw.metric('mirrorgate_breaker_state', { upstream: 'bad' }), 2, "the portal's breaker opened");
    t.ok(bad.requests.length < 12, 'an open breaker stops the pulls going to the portal');
  });

  t.test(`${label}: by digest, the page is failed over before any header went out`, async (t) => {
    const { gw } = await twoMirrors(t, portal, extra);
    const res = await fetch(`${gw.url}/v2/library/alpine/manifests/${DIGEST}`);
    t.equal(res.status, 200);
    t.same(Buffer.from(await res.arrayBuffer()), MANIFEST, 'a complete manifest, not a cut connection');
    t.equal(await gw.metric('mirrorgate_failovers_total', { upstream: 'bad', reason: 'bad_manifest' }), 1);
  });
}

t.test('a HEAD answered with text/html fails over', async (t) => {
  const { gw } = await twoMirrors(t, portal);
  const res = await fetch(`${gw.url}/v2/library/alpine/manifests/latest`, { method: 'HEAD' });
  t.equal(res.status, 200);
  t.equal(res.headers.get('content-type'), MANIFEST_TYPE);
  t.equal(await gw.metric('mirrorgate_failovers_total', { upstream: 'bad', reason: 'bad_manifest' }), 1);
});

t.test('a manifest type on a body that is not JSON fails over', async (t) => {
  const { gw } = await twoMirrors(t, answer(PORTAL, { 'content-type': MANIFEST_TYPE }));
  const res = await fetch(`${gw.url}/v2/library/alpine/manifests/latest`);
  t.same(Buffer.from(await res.arrayBuffer()), MANIFEST);
  t.equal(await gw.metric('mirrorgate_failovers_total', { upstream: 'bad', reason: 'bad_manifest' }), 1);
});

t.test('a body larger than a manifest may be (4 MiB), without a Content-Length, fails over', async (t) => {
  const huge: FakeHandler = (_req, res) => {
    res.writeHead(200, { 'content-type': MANIFEST_TYPE });
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    for (let i = 0; i < 5; i++) res.write(chunk);
    res.end('{}');
  };
  const { gw } = await twoMirrors(t, huge);
  const res = await fetch(`${gw.url}/v2/library/alpine/manifests/latest`);
  t.same(Buffer.from(await res.arrayBuffer()), MANIFEST);
  t.equal(await gw.metric('mirrorgate_failovers_total', { upstream: 'bad', reason: 'bad_manifest' }), 1);
});

t.test('by digest: other bytes, or a Docker-Content-Digest that is another digest, fail over as a digest mismatch', async (t) => {
  const other = Buffer.from('{"schemaVersion":2,"stale":true}');
  for (const liar of [
    answer(other, { 'content-type': MANIFEST_TYPE }),
    answer(MANIFEST, { 'content-type': MANIFEST_TYPE, 'docker-content-digest': `sha256:${'0'.repeat(64)}` }),
  ]) {
    const { gw } = await twoMirrors(t, liar);
    const res = await fetch(`${gw.url}/v2/library/alpine/manifests/${DIGEST}`);
    t.equal(res.status, 200);
    t.same(Buffer.from(await res.arrayBuffer()), MANIFEST);
    t.equal(await gw.metric('mirrorgate_failovers_total', { upstream: 'bad', reason: 'digest' }), 1);
  }
});
