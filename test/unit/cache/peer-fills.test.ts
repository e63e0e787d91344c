/**
 * `workers: N` sharing one cache directory, with the primary's router (FillClaims) and two
 * workers' caches (PeerFills) in one process, their messages delivered a tick later as IPC
 * would: one fetch for the whole cluster, a follower in the other worker reads the owner's
 * spool, an owner that dies fails its fills for the followers, and index changes travel.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { BlobCache, type FillFetch } from '../../../src/cache/blob-cache.js';
import { BlobStore } from '../../../src/cache/blob-store.js';
import { FillClaims } from '../../../src/cache/fill-claims.js';
import { PeerFills, type PeerChannel } from '../../../src/cache/peer-fills.js';
import type { PeerMessage } from '../../../src/cache/peer-protocol.js';
import type { FetchResult } from '../../../src/proxy/fetch-result.js';
import { StartersAbort } from '../../../src/stream/abort.js';
import type { ResponseHeaders, Sink } from '../../../src/stream/sink.js';

const CHUNK = 64 * 1024;
const BLOB = Buffer.alloc(48 * CHUNK + 7);
for (let i = 0; i < BLOB.length; i++) BLOB[i] = (i * 7 + (i >> 9)) & 0xff;
const DIGEST = `sha256:${createHash('sha256').update(BLOB).digest('hex')}`;
const OPTIONS = { maxBytes: 1e9, highWatermark: 0.9, lowWatermark: 0.8 };

class Reader implements Sink {
  readonly chunks: Buffer[] = [];
  status = 0;
  headers: ResponseHeaders = {};
  ended = false;
  start(status: number, headers: ResponseHeaders): void {
    this.status = status;
    this.headers = headers;
  }
  write(chunk: Buffer): boolean {
    this.chunks.push(Buffer.from(chunk));
    return true;
  }
  onceDrain(resume: () => void): void {
    resume();
  }
  end(): void {
    this.ended = true;
  }
  get body(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Relays BLOB a chunk per tick; `hold` stops it after that many chunks until released (or aborted). */
function upstream(hold?: number): FillFetch & { calls: number; release(): void } {
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const fetch = async (sink: Sink, signal: { aborted: boolean }): Promise<FetchResult> => {
    fetch.calls++;
    sink.start(200, { 'content-length': String(BLOB.length) });
    for (let at = 0, n = 0; at < BLOB.length; at += CHUNK, n++) {
      if (n === hold) await held;
      await tick();
      if (signal.aborted) return { kind: 'aborted', upstream: 'u', bytes: at, attempts: 1, failovers: [] };
      sink.write(BLOB.subarray(at, at + CHUNK));
    }
    sink.end();
    return { kind: 'relayed', upstream: 'u', status: 200, bytes: BLOB.length, attempts: 1, failovers: [] };
  };
  fetch.calls = 0;
  fetch.release = () => release();
  return fetch;
}

interface Cluster {
  readonly claims: FillClaims;
  readonly workers: BlobCache[];
  readonly dir: string;
}

/** A primary and `count` workers on one directory; message delivery is asynchronous, as over IPC. */
async function cluster(t: Test, count = 2): Promise<Cluster> {
  const dir = await mkdtemp(join(tmpdir(), 'mirrorgate-peers-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const inboxes = new Map<number, (message: PeerMessage) => void>();
  const deliver = (to: number, message: PeerMessage): void => void tick().then(() => inboxes.get(to)?.(structuredClone(message)));
  const claims = new FillClaims(deliver, () => inboxes.keys());
  const workers: BlobCache[] = [];
  for (let id = 1; id <= count; id++) {
    const late: { peers?: PeerFills } = {};
    const store = await BlobStore.open(dir, { ...OPTIONS, onIndexChange: (change) => late.peers?.indexChanged(change) }, { shared: true });
    const channel: PeerChannel = {
      send: (message) => void tick().then(() => claims.receive(id, structuredClone(message))),
      onMessage: (listener) => inboxes.set(id, listener),
    };
    late.peers = new PeerFills(channel, store);
    workers.push(new BlobCache(store, { peers: late.peers }));
  }
  return { claims, workers, dir };
}

t.test('readers in two workers share one fetch; the other worker follows the spool and then holds the blob', async (t) => {
  const { workers, claims } = await cluster(t);
  const [a, b] = workers as [BlobCache, BlobCache];
  const fetchA = upstream();
  const fetchB = upstream();
  const readers = Array.from({ length: 12 }, () => new Reader());
  const results = await Promise.all(readers.map((reader, i) => (i % 2 === 0 ? a : b).get(DIGEST, reader, new StartersAbort(), i % 2 === 0 ? fetchA : fetchB)));
  t.equal(fetchA.calls + fetchB.calls, 1, 'one fetch for the cluster');
  t.equal(results.filter((r) => r.cache === 'MISS').length, 1);
  t.equal(results.filter((r) => r.cache === 'JOINED').length, 11);
  for (const [i, reader] of readers.entries()) t.ok(reader.ended && reader.body.equals(BLOB), `reader ${i} got the blob`);
  t.equal(claims.size, 0, 'the claim ended with the fill');
  await tick();
  t.ok(a.store.has(DIGEST) && b.store.has(DIGEST), 'both indexes hold it');
  const again = new Reader();
  t.match(await b.get(DIGEST, again, new StartersAbort(), fetchB), { cache: 'HIT', kind: 'relayed' });
  t.equal(fetchA.calls + fetchB.calls, 1);
});

t.test('when the owning worker dies mid-fill, its followers elsewhere are cut, not completed', async (t) => {
  const { workers, claims } = await cluster(t);
  const [a, b] = workers as [BlobCache, BlobCache];
  const fetchA = upstream(8);
  const owner = new Reader();
  const owned = a.get(DIGEST, owner, new StartersAbort(), fetchA);
  const follower = new Reader();
  const followed = b.get(DIGEST, follower, new StartersAbort(), upstream());
  while (follower.status === 0) await tick();
  t.equal(follower.headers['content-length'], String(BLOB.length), 'the follower had its headers from the remote fill');
  claims.workerGone(1);
  t.match(await followed, { kind: 'broken', cache: 'JOINED' });
  t.notOk(follower.ended, 'never completed');
  t.ok(follower.body.length < BLOB.length);
  fetchA.release();
  await owned;
});

t.test('a follower whose remote fill failed before its headers relays instead (nothing sent)', async (t) => {
  const { workers, claims } = await cluster(t);
  const [a, b] = workers as [BlobCache, BlobCache];
  let started: () => void = () => undefined;
  const never: FillFetch = (_sink, signal) =>
    new Promise((resolve) => {
      started();
      signal.addEventListener('abort', () => resolve({ kind: 'aborted', upstream: 'u', bytes: 0, attempts: 1, failovers: [] }));
    });
  const isStarted = new Promise<void>((resolve) => (started = resolve));
  const owned = a.get(DIGEST, new Reader(), new StartersAbort(), never);
  await isStarted;
  const follower = new Reader();
  const followed = b.get(DIGEST, follower, new StartersAbort(), upstream());
  for (let i = 0; i < 10; i++) await tick();
  claims.workerGone(1);
  t.match(await followed, { kind: 'unavailable', fetch: undefined });
  t.equal(follower.status, 0, 'nothing was sent: the request is free to be relayed');
  await a.close();
  await owned;
});

t.test('index changes travel: a blob removed in one worker is forgotten by the other', async (t) => {
  const { workers } = await cluster(t);
  const [a, b] = workers as [BlobCache, BlobCache];
  await a.get(DIGEST, new Reader(), new StartersAbort(), upstream());
  for (let i = 0; i < 5; i++) await tick();
  t.ok(b.store.has(DIGEST));
  t.ok(await a.store.remove(DIGEST));
  for (let i = 0; i < 5; i++) await tick();
  t.notOk(b.store.has(DIGEST), 'the other worker forgot it');
});

t.test('a blob another process put at its final path is a HIT, not a fetch', async (t) => {
  const { workers, dir } = await cluster(t, 1);
  await workers[0]!.get(DIGEST, new Reader(), new StartersAbort(), upstream());
  // A cache on the same directory that never heard of it (another gateway's, `mirrorgate warm`'s).
  const unaware = new BlobCache(await BlobStore.open(dir, OPTIONS, { shared: true }));
  const fresh = new BlobCache(await BlobStore.open(await mkdtemp(join(tmpdir(), 'mirrorgate-peers-empty-')), OPTIONS));
  t.ok(unaware.store.has(DIGEST), 'the rebuild found it (control)');
  unaware.store.forget(DIGEST);
  const fetch = upstream();
  const reader = new Reader();
  t.match(await unaware.get(DIGEST, reader, new StartersAbort(), fetch), { cache: 'HIT', kind: 'relayed', bytes: BLOB.length });
  t.equal(fetch.calls, 0, 'found on disk');
  t.ok(reader.body.equals(BLOB));
  t.ok(unaware.store.has(DIGEST), 'and adopted');
  t.notOk(fresh.store.has(DIGEST));
  await rm(fresh.store.dir, { recursive: true, force: true });
});
