/**
 * Single flight with live fan-out, against a scripted fetch that behaves like the upstream relay
 * (start → write with backpressure → end, a refused end failing the attempt).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { BlobCache, type FillFetch } from '../../../src/cache/blob-cache.js';
import { BlobStore } from '../../../src/cache/blob-store.js';
import type { FetchResult } from '../../../src/proxy/fetch-result.js';
import { StartersAbort } from '../../../src/stream/abort.js';
import type { ResponseHeaders, Sink } from '../../../src/stream/sink.js';

const CHUNK = 64 * 1024;
const BLOB = Buffer.alloc(40 * CHUNK + 123);
for (let i = 0; i < BLOB.length; i++) BLOB[i] = (i * 31 + (i >> 8)) & 0xff;
const DIGEST = `sha256:${createHash('sha256').update(BLOB).digest('hex')}`;

async function cacheIn(t: Test): Promise<{ cache: BlobCache; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'mirrorgate-blob-cache-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await BlobStore.open(dir, { maxBytes: 1e9, highWatermark: 0.9, lowWatermark: 0.8 });
  return { cache: new BlobCache(store), dir };
}

/** A fetch that relays `body` in 64 KiB chunks, one per tick, and counts its calls. */
function upstream(body: Buffer = BLOB): FillFetch & { calls: number } {
  const fetch = async (sink: Sink, signal: { aborted: boolean }): Promise<FetchResult> => {
    fetch.calls++;
    const result = (kind: 'relayed' | 'broken' | 'aborted', error?: Error): FetchResult =>
      (kind === 'broken'
        ? { kind, upstream: 'u', bytes: 0, error: error!, attempts: 1, failovers: [] }
        : { kind, upstream: 'u', status: 200, bytes: body.length, attempts: 1, failovers: [] }) as FetchResult;
    sink.start(200, { 'content-length': String(body.length) });
    for (let at = 0; at < body.length; at += CHUNK) {
      await tick();
      if (signal.aborted) return result('aborted');
      if (!sink.write(body.subarray(at, at + CHUNK))) await new Promise<void>((resolve) => sink.onceDrain(resolve));
    }
    try {
      sink.end();
    } catch (err) {
      return result('broken', err as Error);
    }
    return result('relayed');
  };
  fetch.calls = 0;
  return fetch;
}

/** Until the cache has no fill running (commit or discard done), within 5 s. */
async function settled(cache: BlobCache): Promise<void> {
  for (let i = 0; i < 500 && cache.filling > 0; i++) await sleep(10);
}

/** A client: keeps what it gets; `paused` makes it refuse more until resumed. */
class Reader implements Sink {
  readonly chunks: Buffer[] = [];
  status = 0;
  headers: ResponseHeaders = {};
  ended = false;
  paused = false;
  #drain: (() => void) | undefined;
  start(status: number, headers: ResponseHeaders): void {
    this.status = status;
    this.headers = headers;
  }
  write(chunk: Buffer): boolean {
    this.chunks.push(Buffer.from(chunk));
    return !this.paused;
  }
  onceDrain(resume: () => void): void {
    this.#drain = resume;
  }
  end(): void {
    this.ended = true;
  }
  resume(): void {
    this.paused = false;
    this.#drain?.();
  }
  get bytes(): number {
    return this.chunks.reduce((n, c) => n + c.length, 0);
  }
  get body(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

t.test('20 concurrent misses make one upstream fetch, and every reader gets the whole blob', async (t) => {
  const { cache } = await cacheIn(t);
  const fetch = upstream();
  const readers = Array.from({ length: 20 }, () => new Reader());
  const results = await Promise.all(readers.map((r) => cache.get(DIGEST, r, new StartersAbort(), fetch)));
  t.equal(fetch.calls, 1, 'one fetch for all');
  t.equal(results.filter((r) => r.cache === 'MISS').length, 1, 'one reader started the fill');
  t.equal(results.filter((r) => r.cache === 'JOINED').length, 19, 'the others joined it');
  for (const [i, r] of readers.entries()) {
    t.ok(r.body.equals(BLOB), `reader ${i} got the blob`);
    t.ok(r.ended);
  }
  t.equal(readers[0]!.headers['content-length'], String(BLOB.length), 'headers name the size at once');
  t.ok(cache.store.has(DIGEST), 'stored');
  const again = new Reader();
  t.match(await cache.get(DIGEST, again, new StartersAbort(), fetch), { cache: 'HIT', kind: 'relayed', bytes: BLOB.length });
  t.equal(fetch.calls, 1, 'a hit makes no fetch');
  t.ok(again.body.equals(BLOB));
});

t.test('a paused reader slows neither the fill nor the other readers', async (t) => {
  const { cache } = await cacheIn(t);
  const fetch = upstream();
  const slow = new Reader();
  slow.paused = true;
  const fast = new Reader();
  const slowDone = cache.get(DIGEST, slow, new StartersAbort(), fetch);
  const fastResult = await cache.get(DIGEST, fast, new StartersAbort(), fetch);
  t.match(fastResult, { kind: 'relayed', bytes: BLOB.length });
  await settled(cache);
  t.ok(cache.store.has(DIGEST), 'committed while the slow reader is still paused');
  t.ok(slow.bytes < BLOB.length, `the slow reader has ${slow.bytes} bytes so far`);
  slow.resume();
  t.match(await slowDone, { kind: 'relayed', bytes: BLOB.length });
  t.ok(slow.body.equals(BLOB));
});

t.test('the first reader hanging up does not stop the fill', async (t) => {
  const { cache } = await cacheIn(t);
  const fetch = upstream();
  const first = new Reader();
  const leaves = new StartersAbort();
  const firstDone = cache.get(DIGEST, first, leaves, fetch);
  await tick();
  await tick();
  leaves.abort();
  t.match(await firstDone, { kind: 'aborted', cache: 'MISS' });
  await settled(cache);
  t.ok(cache.store.has(DIGEST), 'the fill completed without its first reader');
  t.equal(fetch.calls, 1);
});

t.test('corrupt bytes are never stored, and no reader gets the last byte', async (t) => {
  const { cache, dir } = await cacheIn(t);
  const corrupt = Buffer.from(BLOB);
  corrupt.writeUInt8(corrupt.readUInt8(corrupt.length - 1) ^ 0xff, corrupt.length - 1);
  const fetch = upstream(corrupt);
  const readers = [new Reader(), new Reader()];
  const results = await Promise.all(readers.map((r) => cache.get(DIGEST, r, new StartersAbort(), fetch)));
  for (const [i, result] of results.entries()) {
    t.equal(result.kind, 'broken', `reader ${i} is cut`);
    t.ok(readers[i]!.bytes < BLOB.length, `reader ${i} never got the last byte (${readers[i]!.bytes} of ${BLOB.length})`);
    t.notOk(readers[i]!.ended);
  }
  t.notOk(cache.store.has(DIGEST));
  t.notOk(existsSync(cache.store.pathOf(DIGEST)));
  await settled(cache);
  t.same(readdirSync(join(dir, 'tmp')), [], 'the spool is gone');
  t.equal(cache.filling, 0, 'the next request starts a new fill');
});

t.test('a fill with an empty body for a non-empty digest never completes a reader', async (t) => {
  const { cache } = await cacheIn(t);
  const reader = new Reader();
  const result = await cache.get(DIGEST, reader, new StartersAbort(), upstream(Buffer.alloc(0)));
  t.not(result.kind, 'relayed', `not completed (${result.kind})`);
  t.notOk(reader.ended);
  t.notOk(cache.store.has(DIGEST));
});

t.test('a blob whose file was removed beside the gateway is filled again, not relayed forever', async (t) => {
  const { cache } = await cacheIn(t);
  const fetch = upstream();
  await cache.get(DIGEST, new Reader(), new StartersAbort(), fetch);
  await settled(cache);
  await rm(cache.store.pathOf(DIGEST));
  const again = new Reader();
  t.match(await cache.get(DIGEST, again, new StartersAbort(), fetch), { cache: 'MISS', kind: 'relayed' });
  t.ok(again.body.equals(BLOB));
  t.equal(fetch.calls, 2);
  await settled(cache);
  t.ok(existsSync(cache.store.pathOf(DIGEST)), 'stored again');
});

t.test("a request for another registry does not join a fill run on this registry's upstreams", async (t) => {
  const { cache } = await cacheIn(t);
  const hub = upstream();
  const ghcr = upstream();
  const [a, b] = [new Reader(), new Reader()];
  await Promise.all([cache.get(DIGEST, a, new StartersAbort(), hub, 'docker.io'), cache.get(DIGEST, b, new StartersAbort(), ghcr, 'ghcr.io')]);
  t.equal(hub.calls + ghcr.calls, 2, 'one fill each');
  t.ok(a.body.equals(BLOB) && b.body.equals(BLOB));
  await settled(cache);
  t.ok(cache.store.has(DIGEST), 'stored once (same digest, same bytes)');
  t.equal(cache.store.count, 1);
});
