/**
 * Found by the fault matrix (test/faults/): two ways a mirror's manifest answer got past the
 * gateway's manifest check.
 * - A manifest by tag whose bytes do not hash to the Docker-Content-Digest the mirror sent with
 *   them (a flipped byte that still parses as JSON) reached the client, and the cache kept it as
 *   the tag's manifest. Now it fails over, and the mirror is quarantined as for any mismatch.
 * - A manifest whose body broke off (reset, a short body, a stall) cut the client's connection,
 *   though the gateway held the manifest whole and the client had received nothing: now it fails
 *   over.
 */
import t, { type Test } from 'tap';
import { contentMirror, createContent, REPO, TAG, type Fault } from '../../faults/helpers/content-mirror.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

const content = createContent();

async function setup(t: Test, fault: Fault, cache: boolean) {
  const bad = await startFakeUpstream(contentMirror(content, fault));
  const good = await startFakeUpstream(contentMirror(content, 'none'));
  t.teardown(() => Promise.all([bad.close(), good.close()]));
  const timeouts = ', timeouts: { idle: 500ms }';
  const gw = await startGateway(
    upstreamsYaml(
      [
        ['bad', bad.url, 1],
        ['good', good.url, 1],
      ],
      timeouts,
    ) + (cache ? 'cache: { dir: cache, tags: { ttl: 1h } }\n' : ''),
  );
  t.teardown(() => gw.close());
  return gw;
}

for (const cache of [false, true]) {
  const label = cache ? 'with the cache' : 'relayed';

  t.test(`${label}: a manifest by tag whose bytes are not its Docker-Content-Digest fails over and quarantines the mirror`, async (t) => {
    const gw = await setup(t, 'corrupt', cache);
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${gw.url}/v2/${REPO}/manifests/${TAG}`);
      t.equal(res.status, 200);
      t.same(Buffer.from(await res.arrayBuffer()), content.manifest, `pull ${i}: the manifest's own bytes`);
    }
    const head = await fetch(`${gw.url}/v2/${REPO}/manifests/${TAG}`, { method: 'HEAD' });
    t.equal(head.headers.get('docker-content-digest'), content.manifestDigest, 'the tag points at the right digest');
    t.equal(await gw.metric('mirrorgate_failovers_total', { upstream: 'bad', reason: 'digest' }), 1);
    t.equal(await gw.metric('mirrorgate_upstream_quarantined', { upstream: 'bad' }), 1);
  });

  for (const fault of ['reset', 'short', 'stall'] as const) {
    t.test(`${label}: a manifest whose body breaks off (${fault}) fails over instead of cutting the client`, async (t) => {
      const gw = await setup(t, fault, cache);
      for (const reference of [TAG, content.manifestDigest]) {
        const res = await fetch(`${gw.url}/v2/${REPO}/manifests/${reference}`);
        t.equal(res.status, 200, reference);
        t.same(Buffer.from(await res.arrayBuffer()), content.manifest, `${reference}: a whole manifest`);
      }
      const reason = fault === 'stall' ? 'timeout' : 'reset';
      t.ok((await gw.metric('mirrorgate_failovers_total', { upstream: 'bad', reason })) >= 1, `counted as ${reason} against the mirror`);
    });
  }
}

t.test('a schema1 manifest (its digest leaves the signatures out) is not held to its Docker-Content-Digest', async (t) => {
  const body = Buffer.from('{"schemaVersion":1,"name":"library/app","signatures":[{"signature":"x"}]}');
  const upstream = await startFakeUpstream((_req, res) => {
    res.writeHead(200, {
      'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws',
      'content-length': body.length,
      'docker-content-digest': `sha256:${'5'.repeat(64)}`,
    });
    res.end(body);
  });
  t.teardown(() => upstream.close());
  const gw = await startGateway(upstreamsYaml([['old', upstream.url, 1]]));
  t.teardown(() => gw.close());
  const res = await fetch(`${gw.url}/v2/${REPO}/manifests/${TAG}`);
  t.equal(res.status, 200);
  t.same(Buffer.from(await res.arrayBuffer()), body);
});
