/**
 * The blob cache through the real gateway: concurrent pulls of one blob share one upstream GET,
 * repeats come from disk, the first client hanging up does not stop the fill, and corrupt bytes
 * are never stored.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import t from 'tap';
import { eventually } from '../../helpers/cli-process.js';
import { startFakeUpstream, trickle } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

const CHUNKS = Array.from({ length: 16 }, () => randomBytes(64 * 1024));
const BLOB = Buffer.concat(CHUNKS);
const DIGEST = `sha256:${createHash('sha256').update(BLOB).digest('hex')}`;
const CACHE = 'cache: { dir: cache }\n';

interface Download {
  readonly status: number;
  readonly xCache: string | undefined;
  readonly length: string | undefined;
  readonly body: Buffer;
  readonly complete: boolean;
}

/** A client's view of one request; `hangUpAfter` closes it after that many body bytes. */
function download(url: string, options: { method?: string; hangUpAfter?: number } = {}): Promise<Download> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const req = request(url, { method: options.method ?? 'GET' }, (res) => {
      const done = (complete: boolean): void =>
        resolve({
          status: res.statusCode ?? 0,
          xCache: res.headers['x-cache'] as string | undefined,
          length: res.headers['content-length'],
          body: Buffer.concat(chunks),
          complete,
        });
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        if (options.hangUpAfter !== undefined && Buffer.concat(chunks).length >= options.hangUpAfter) {
          req.destroy();
          done(false);
        }
      });
      res.on('end', () => done(res.complete));
      res.on('error', () => done(false));
    });
    req.on('error', () => resolve({ status: 0, xCache: undefined, length: undefined, body: Buffer.concat(chunks), complete: false }));
    req.end();
  });
}

const blobGets = (requests: { method: string; url: string }[]): number => requests.filter((r) => r.method === 'GET' && r.url.includes('/blobs/')).length;

t.test('10 concurrent pulls of one blob make one upstream GET; the next pull and a HEAD come from disk', async (t) => {
  const upstream = await startFakeUpstream(trickle(CHUNKS, 5));
  t.teardown(() => upstream.close());
  const gw = await startGateway(upstreamsYaml([['u', upstream.url, 1]]) + CACHE);
  t.teardown(() => gw.close());
  const url = `${gw.url}/v2/library/x/blobs/${DIGEST}`;

  const pulls = await Promise.all(Array.from({ length: 10 }, () => download(url)));
  t.equal(blobGets(upstream.requests), 1, 'one upstream GET for ten pulls');
  for (const [i, pull] of pulls.entries()) {
    t.equal(pull.status, 200);
    t.ok(pull.complete && pull.body.equals(BLOB), `pull ${i} got the blob`);
    t.equal(pull.length, String(BLOB.length));
  }
  t.same(pulls.map((p) => p.xCache).sort(), [...Array<string>(9).fill('JOINED'), 'MISS'].sort());

  const again = await download(url);
  t.equal(again.xCache, 'HIT');
  t.ok(again.body.equals(BLOB));
  const head = await download(url, { method: 'HEAD' });
  t.match(head, { status: 200, xCache: 'HIT', length: String(BLOB.length) });
  t.equal(upstream.requests.length, 1, 'nothing more went upstream');
  t.equal(await gw.metric('mirrorgate_cache_requests_total', { result: 'miss' }), 1);
  t.equal(await gw.metric('mirrorgate_cache_requests_total', { result: 'joined' }), 9);
  // A request is counted once its response ended, so a moment after the client saw the end.
  await eventually(async () => (await gw.metric('mirrorgate_cache_requests_total', { result: 'hit' })) === 1, 'the hit counted');
  t.equal(await gw.metric('mirrorgate_cache_requests_total', { result: 'hit' }), 1, 'the GET hit (the HEAD is answered from the store too, not counted here)');
  t.equal(await gw.metric('mirrorgate_cache_upstream_bytes_total'), BLOB.length, 'the blob crossed once');
  t.equal(await gw.metric('mirrorgate_cache_served_bytes_total'), 11 * BLOB.length, 'and went out eleven times');
  t.equal(await gw.metric('mirrorgate_cache_fills_total', { result: 'committed' }), 1);
  t.equal(await gw.metric('mirrorgate_cache_blobs'), 1);
  t.equal(await gw.metric('mirrorgate_cache_bytes'), BLOB.length);
});

t.test('a cache that cannot store never fails a pull: it relays', async (t) => {
  const upstream = await startFakeUpstream(trickle(CHUNKS, 1));
  t.teardown(() => upstream.close());
  const gw = await startGateway(upstreamsYaml([['u', upstream.url, 1]]) + CACHE);
  t.teardown(() => gw.close());
  // The cache opened fine; now its temp dir is a file, so no fill can start (as on a disk that
  // went read-only or full under the gateway).
  const tmp = join(dirname(gw.configFile), 'cache', 'tmp');
  await rm(tmp, { recursive: true, force: true });
  await writeFile(tmp, 'not a directory');
  const url = `${gw.url}/v2/library/x/blobs/${DIGEST}`;
  const pulls = await Promise.all([download(url), download(url)]);
  for (const pull of pulls) {
    t.ok(pull.complete && pull.body.equals(BLOB), 'relayed whole');
    t.equal(pull.xCache, undefined, 'not from the cache');
  }
  t.equal(await gw.metric('mirrorgate_cache_blobs'), 0, 'nothing stored');
});

t.test('the first client hanging up does not stop the fill', async (t) => {
  const upstream = await startFakeUpstream(trickle(CHUNKS, 5));
  t.teardown(() => upstream.close());
  const gw = await startGateway(upstreamsYaml([['u', upstream.url, 1]]) + CACHE);
  t.teardown(() => gw.close());
  const url = `${gw.url}/v2/library/x/blobs/${DIGEST}`;

  const first = await download(url, { hangUpAfter: 64 * 1024 });
  t.notOk(first.complete, 'the first client left early');
  // Joins the fill if it is still running, or hits what it stored: either way no second GET.
  const later = await download(url);
  t.ok(later.complete && later.body.equals(BLOB));
  t.equal(blobGets(upstream.requests), 1, 'the one fill served both');
});

t.test('a blob whose bytes do not match is never stored: the client is cut, the next pull fetches again', async (t) => {
  const corrupt = CHUNKS.map((c) => Buffer.from(c));
  corrupt[15]!.writeUInt8(corrupt[15]!.readUInt8(0) ^ 0xff, 0);
  const upstream = await startFakeUpstream(trickle(corrupt, 2));
  t.teardown(() => upstream.close());
  // Without a quarantine: the only mirror must get the next pull for this test to see it fetched again.
  const gw = await startGateway(upstreamsYaml([['u', upstream.url, 1]]) + CACHE + 'breaker: { quarantine: 0s }\n');
  t.teardown(() => gw.close());
  const url = `${gw.url}/v2/library/x/blobs/${DIGEST}`;

  const cut = await download(url);
  t.notOk(cut.complete, 'cut before the last byte');
  t.ok(cut.body.length < BLOB.length);
  await download(url);
  t.equal(blobGets(upstream.requests), 2, 'nothing was stored: the next pull fetched again');
  t.ok((await gw.metric('mirrorgate_failovers_total', { upstream: 'u', reason: 'digest' })) >= 1, 'counted against the mirror');
});
