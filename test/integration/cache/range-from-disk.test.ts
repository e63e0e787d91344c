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
