/**
 * Blob answers that are not what their headers say are failed over before a byte reaches the
 * client or the cache: a `200 text/html` page (a captive portal, a CDN error page) answering a
 * blob GET, and a 206 whose Content-Length is not its Content-Range's length (a lying mirror),
 * whether it answers a client's Range, a parallel fill's first piece or one of its pieces.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import t, { type Test } from 'tap';
import { startFakeUpstream, type FakeHandler, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml, type TestGateway } from '../helpers/gateway.js';

const MiB = 1024 * 1024;
const BLOB = randomBytes(4 * MiB);
const DIGEST = `sha256:${createHash('sha256').update(BLOB).digest('hex')}`;
const PATH = `/v2/library/app/blobs/${DIGEST}`;
const PORTAL = Buffer.from('<!doctype html><html><body>Please log in to the hotel wifi</body></html>');

type Lie = 'none' | 'html' | 'long-206';

/** Serves BLOB with Range support; `long-206` adds 16 bytes to every 206, counted in its Content-Length but not in its Content-Range. */
function blobMirror(lie: Lie): FakeHandler {
  return (req, res) => {
    if (lie === 'html') return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': PORTAL.length }).end(PORTAL);
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range === null) return send(res, 200, BLOB, {});
    const first = Number(range[1]);
    const last = range[2] === '' ? BLOB.length - 1 : Math.min(Number(range[2]), BLOB.length - 1);
    const slice = BLOB.subarray(first, last + 1);
    const body = lie === 'long-206' ? Buffer.concat([slice, Buffer.alloc(16, 0x41)]) : slice;
    send(res, 206, body, { 'content-range': `bytes ${first}-${last}/${BLOB.length}` });
  };
}

function send(res: ServerResponse, status: number, body: Buffer, headers: Record<string, string>): void {
  res.writeHead(status, { 'content-type': 'application/octet-stream', 'content-length': body.length, 'docker-content-digest': DIGEST, ...headers });
  res.end(body);
}

/** The liar first in config order and heavier, so it gets the first pick; an honest mirror with the same blob. */
async function setup(t: Test, lie: Lie, extra = ''): Promise<{ gw: TestGateway; liar: FakeUpstream; honest: FakeUpstream }> {
  const liar = await startFakeUpstream(blobMirror(lie));
  const honest = await startFakeUpstream(blobMirror('none'));
  t.teardown(() => Promise.all([liar.close(), honest.close()]));
  const upstreams = upstreamsYaml([
    ['liar', liar.url, 2],
    ['honest', honest.url, 1],
  ]);
  const gw = await startGateway(`${upstreams}breaker: { volumeThreshold: 50, resetTimeout: 1h }\n${extra}`);
  t.teardown(() => gw.close());
  return { gw, liar, honest };
}

async function pull(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; complete: boolean; range: string | null }> {
  const res = await fetch(url, { headers });
  const range = res.headers.get('content-range');
  try {
    return { status: res.status, body: Buffer.from(await res.arrayBuffer()), complete: true, range };
  } catch {
    return { status: res.status, body: Buffer.alloc(0), complete: false, range };
  }
}

const CACHED = 'cache: { dir: cache }\n';

for (const cache of [false, true]) {
  const label = cache ? 'with the cache' : 'relayed';
  t.test(`${label}: a 200 text/html answer to a blob GET fails over before the headers go out`, async (t) => {
    const { gw } = await setup(t, 'html', cache ? CACHED : '');
    const first = await pull(`${gw.url}${PATH}`);
    t.equal(first.status, 200);
    t.ok(first.complete && first.body.equals(BLOB), 'the first pull gets the whole blob, not a cut connection');
    t.equal(await gw.metric('mirrorgate_failovers_total', { upstream: 'liar', reason: 'bad_blob' }), 1, 'charged to the mirror as bad_blob');
    t.equal(await gw.metric('mirrorgate_failovers_total', { upstream: 'liar', reason: 'digest' }), 0, 'not found out by the digest, after the fact');
  });
}

t.test('a blob HEAD answered with text/html fails over', async (t) => {
  const { gw } = await setup(t, 'html');
  const res = await fetch(`${gw.url}${PATH}`, { method: 'HEAD' });
  t.equal(res.status, 200);
  t.equal(res.headers.get('content-length'), String(BLOB.length), "the blob's size, not the page's");
  t.equal(await gw.metric('mirrorgate_failovers_total', { upstream: 'liar', reason: 'bad_blob' }), 1);
});

t.test("relayed: a client's Range answered with a 206 whose Content-Length is not its Content-Range's fails over", async (t) => {
  const { gw } = await setup(t, 'long-206');
  const res = await pull(`${gw.url}${PATH}`, { range: 'bytes=100-199' });
  t.equal(res.status, 206);
  t.equal(res.range, `bytes 100-199/${BLOB.length}`);
  t.ok(res.complete && res.body.equals(BLOB.subarray(100, 200)), 'exactly the 100 bytes asked for, from the honest mirror');
  t.equal(await gw.metric('mirrorgate_failovers_total', { upstream: 'liar', reason: 'reset' }), 1, 'the lie is charged like a broken answer');
});

t.test('a parallel fill whose first piece comes from a mirror lying about its 206 drops that mirror and stores the right bytes', async (t) => {
  const { gw, liar, honest } = await setup(t, 'long-206', 'cache: { dir: cache, parallel: { minSize: 1MiB, pieceSize: 1MiB, perMirror: 2 } }\n');
  const first = await pull(`${gw.url}${PATH}`);
  t.ok(first.status === 200 && first.complete && first.body.equals(BLOB), 'the whole blob');
  t.equal(liar.requests.length, 1, 'the liar answered the first piece only: dropped from the fill');
  t.ok(honest.requests.length >= 4, `the honest mirror served every piece (${honest.requests.length} requests)`);
  const again = await fetch(`${gw.url}${PATH}`);
  t.equal(again.headers.get('x-cache'), 'HIT', 'stored');
  t.ok(Buffer.from(await again.arrayBuffer()).equals(BLOB), 'and what was stored is the blob');
});

t.test('a mirror lying about the 206s of later pieces is dropped from the fill after its first one', async (t) => {
  // The honest mirror takes the probe (heavier); the liar's first piece is refused and it gets no more.
  const liar = await startFakeUpstream(blobMirror('long-206'));
  const honest = await startFakeUpstream(blobMirror('none'));
  t.teardown(() => Promise.all([liar.close(), honest.close()]));
  const upstreams = upstreamsYaml([
    ['honest', honest.url, 2],
    ['liar', liar.url, 1],
  ]);
  const gw = await startGateway(`${upstreams}cache: { dir: cache, parallel: { minSize: 512KiB, pieceSize: 512KiB, perMirror: 1 } }\n`);
  t.teardown(() => gw.close());
  const first = await pull(`${gw.url}${PATH}`);
  t.ok(first.status === 200 && first.complete && first.body.equals(BLOB), 'the whole blob');
  t.equal(liar.requests.length, 1, `the liar was asked for one piece (${liar.requests.map((r) => r.headers.range).join(', ')})`);
});
