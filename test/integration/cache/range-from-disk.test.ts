/** Range requests for a cached blob are answered from disk (206), without the upstream. */
import { createHash, randomBytes } from 'node:crypto';
import t from 'tap';
import { startFakeUpstream, trickle } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

const CHUNKS = Array.from({ length: 4 }, () => randomBytes(64 * 1024));
const BLOB = Buffer.concat(CHUNKS);
const DIGEST = `sha256:${createHash('sha256').update(BLOB).digest('hex')}`;

t.test('a Range of a cached blob is a 206 from disk; of one not cached yet, relayed', async (t) => {
  const upstream = await startFakeUpstream(trickle(CHUNKS, 1));
  t.teardown(() => upstream.close());
  const gw = await startGateway(upstreamsYaml([['u', upstream.url, 1]]) + 'cache: { dir: cache }\n');
  t.teardown(() => gw.close());
  const url = `${gw.url}/v2/library/x/blobs/${DIGEST}`;

  const cold = await fetch(url, { headers: { range: 'bytes=10-19' } });
  t.not(cold.headers.get('x-cache'), 'HIT', 'not cached yet: relayed');
  await cold.arrayBuffer();
  await (await fetch(url)).arrayBuffer(); // fills the cache
  const before = upstream.requests.length;

  const part = await fetch(url, { headers: { range: 'bytes=70000-70009' } });
  t.equal(part.status, 206);
  t.equal(part.headers.get('x-cache'), 'HIT');
  t.equal(part.headers.get('content-range'), `bytes 70000-70009/${BLOB.length}`);
  t.same(Buffer.from(await part.arrayBuffer()), BLOB.subarray(70000, 70010));
  const tail = await fetch(url, { headers: { range: 'bytes=-3' } });
  t.same(Buffer.from(await tail.arrayBuffer()), BLOB.subarray(BLOB.length - 3));
  t.equal(upstream.requests.length, before, 'no upstream request for the ranges');
});

t.test('while a fill streams, a HEAD and a client resuming with a Range are answered from its spool, not fetched again', async (t) => {
  const chunks = Array.from({ length: 16 }, () => randomBytes(64 * 1024));
  const blob = Buffer.concat(chunks);
  const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
  const upstream = await startFakeUpstream(trickle(chunks, 30, { firstAtOnce: true }));
  t.teardown(() => upstream.close());
  const gw = await startGateway(upstreamsYaml([['u', upstream.url, 1]]) + 'cache: { dir: cache }\n');
  t.teardown(() => gw.close());
  const url = `${gw.url}/v2/library/x/blobs/${digest}`;

  // The first client reads a little and hangs up; the fill goes on.
  const first = new AbortController();
  const started = await fetch(url, { signal: first.signal });
  t.equal(started.headers.get('x-cache'), 'MISS');
  await started.body!.getReader().read();
  first.abort();

  const head = await fetch(url, { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(head.headers.get('x-cache'), 'JOINED', 'the HEAD came from the running fill');
  t.equal(head.headers.get('content-length'), String(blob.length));

  const resumed = await fetch(url, { headers: { range: 'bytes=65536-' } });
  t.equal(resumed.status, 206);
  t.equal(resumed.headers.get('x-cache'), 'JOINED');
  t.equal(resumed.headers.get('content-range'), `bytes 65536-${blob.length - 1}/${blob.length}`);
  t.ok(Buffer.from(await resumed.arrayBuffer()).equals(blob.subarray(65536)), 'the rest of the blob, from the spool');
  t.equal(upstream.requests.length, 1, 'one upstream request in all');
});
