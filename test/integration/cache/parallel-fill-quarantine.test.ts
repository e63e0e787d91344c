/**
 * Found by the fault matrix (test/faults/): with the cache and two or more mirrors every fill
 * goes through the parallel fill (its first request is a Range for `parallel.minSize` bytes),
 * whose digest check came after the attempts, so a mirror serving corrupt blobs was never
 * quarantined (issue 13, item 4, undone by the cache) and kept getting pulls cut. Now the one
 * mirror that sent every byte of a mismatching fill is quarantined; when pieces came from
 * several, the next fill of that digest is one stream from one mirror, where the liar shows.
 */
import t, { type Test } from 'tap';
import { contentMirror, createContent, REPO } from '../../faults/helpers/content-mirror.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

/** A 64 KiB blob (one piece: no bigger than minSize) and a 2 MiB one (pieces); the liar flips the last byte of every answer. */
const content = createContent();

async function pull(url: string): Promise<Buffer | undefined> {
  try {
    return Buffer.from(await (await fetch(url)).arrayBuffer());
  } catch {
    return undefined; // cut: the client retries
  }
}

async function setup(t: Test, digest: string) {
  const liar = await startFakeUpstream(contentMirror(content, 'corrupt'));
  const honest = await startFakeUpstream(contentMirror(content, 'none'));
  t.teardown(() => Promise.all([liar.close(), honest.close()]));
  const gw = await startGateway(
    upstreamsYaml([
      ['liar', liar.url, 1],
      ['honest', honest.url, 1],
    ]) +
      'breaker: { volumeThreshold: 100, quarantine: 1h }\n' +
      'cache: { dir: cache, parallel: { minSize: 1MiB, pieceSize: 512KiB, perMirror: 1 } }\n',
  );
  t.teardown(() => gw.close());
  return { gw, url: `${gw.url}/v2/${REPO}/blobs/${digest}` };
}

t.test('a blob that came whole from one mirror and does not match quarantines that mirror', async (t) => {
  const blob = content.small.bytes;
  const { gw, url } = await setup(t, content.small.digest);
  t.equal(await pull(url), undefined, 'the first pull is cut (the liar answered the probe)');
  t.equal(await gw.metric('mirrorgate_upstream_quarantined', { upstream: 'liar' }), 1, 'the liar is quarantined');
  t.equal(await gw.metric('mirrorgate_upstream_quarantined', { upstream: 'honest' }), 0);
  t.same(await pull(url), blob, 'the retry gets the blob');
});

t.test('a fill in pieces from several mirrors that does not match: the next fill is one stream, and the liar is found there', async (t) => {
  const blob = content.big.bytes;
  const { gw, url } = await setup(t, content.big.digest);
  const pulls: (Buffer | undefined)[] = [];
  for (let i = 0; i < 4 && !pulls.some((p) => p?.equals(blob)); i++) pulls.push(await pull(url));
  t.ok(pulls.at(-1)?.equals(blob), `the blob within ${pulls.length} pulls (a client retries)`);
  t.ok(pulls.length <= 3, 'at most two pulls cut');
  t.ok(
    pulls.every((p) => p === undefined || p.equals(blob)),
    'no pull completed with other bytes',
  );
  if (pulls.length === 3) t.equal(await gw.metric('mirrorgate_upstream_quarantined', { upstream: 'liar' }), 1, 'the single-stream fill found the liar');
  t.equal(await gw.metric('mirrorgate_upstream_quarantined', { upstream: 'honest' }), 0, 'the honest mirror stays in');
});
