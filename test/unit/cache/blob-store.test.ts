import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { BlobStore } from '../../../src/cache/blob-store.js';

const digestOf = (body: Buffer): string => `sha256:${createHash('sha256').update(body).digest('hex')}`;
const blob = (text: string, size = text.length): { body: Buffer; digest: string } => {
  const body = Buffer.alloc(size, text);
  return { body, digest: digestOf(body) };
};
const options = { maxBytes: 1000, highWatermark: 0.9, lowWatermark: 0.5 };

async function storeDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mirrorgate-blob-store-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function put(store: BlobStore, { body, digest }: { body: Buffer; digest: string }): Promise<void> {
  const writer = await store.create(digest);
  await writer.write(body.subarray(0, 1));
  await writer.write(body.subarray(1));
  await writer.commit();
}

t.test('a blob reaches its final path, keyed by digest, only when committed', async (t) => {
  const dir = await storeDir(t);
  const store = await BlobStore.open(dir, options);
  const { body, digest } = blob('a', 100);
  const writer = await store.create(digest);
  await writer.write(body);
  t.notOk(existsSync(store.pathOf(digest)), 'nothing at the final path while writing');
  t.ok(existsSync(writer.tmpPath), 'the bytes are under tmp/');
  t.notOk(store.has(digest));
  await writer.commit();
  const hex = digest.slice('sha256:'.length);
  t.equal(store.pathOf(digest), join(dir, 'blobs', 'sha256', hex.slice(0, 2), hex));
  t.same(readFileSync(store.pathOf(digest)), body);
  t.notOk(existsSync(writer.tmpPath));
  t.ok(store.has(digest));
  t.equal(store.bytes, 100);
  const held = store.acquire(digest);
  t.match(held, { digest, size: 100, path: store.pathOf(digest) });
});

t.test('wrong bytes are never stored', async (t) => {
  const dir = await storeDir(t);
  const store = await BlobStore.open(dir, options);
  const { digest } = blob('a', 100);
  const writer = await store.create(digest);
  await writer.write(Buffer.alloc(100, 'b'));
  await t.rejects(writer.commit(), { code: 'BLOB_STORE', message: /does not match/ });
  t.notOk(existsSync(store.pathOf(digest)));
  t.same(readdirSync(join(dir, 'tmp')), [], 'the temp file is gone');
  t.notOk(store.has(digest));
  t.equal(store.bytes, 0);
  await t.rejects(store.create('sha256:nothex'), { code: 'BLOB_STORE' });
});

t.test('an aborted write leaves nothing behind', async (t) => {
  const dir = await storeDir(t);
  const store = await BlobStore.open(dir, options);
  const { body, digest } = blob('c', 50);
  const writer = await store.create(digest);
  await writer.write(body);
  await writer.abort();
  t.same(readdirSync(join(dir, 'tmp')), []);
  t.notOk(store.has(digest));
});

t.test('open empties tmp/ and rebuilds the index from the tree, oldest access first', async (t) => {
  const dir = await storeDir(t);
  const first = await BlobStore.open(dir, options);
  const old = blob('o', 100);
  const recent = blob('r', 100);
  await put(first, old);
  await put(first, recent);
  utimesSync(first.pathOf(old.digest), new Date(1_000_000), new Date(1_000_000));
  writeFileSync(join(dir, 'tmp', 'half-written'), 'partial');
  mkdirSync(join(dir, 'blobs', 'sha256', 'zz'), { recursive: true });
  writeFileSync(join(dir, 'blobs', 'sha256', 'zz', 'not-a-blob'), 'x');

  const reopened = await BlobStore.open(dir, { maxBytes: 210, highWatermark: 0.9, lowWatermark: 0.5 });
  t.same(readdirSync(join(dir, 'tmp')), [], 'leftovers of a killed fill are removed');
  t.equal(reopened.count, 2, 'only digests count');
  t.equal(reopened.bytes, 200);
  t.same(await reopened.evict(), [old.digest], 'oldest access goes first, down to the low watermark (105)');
});

t.test('eviction: least recently used first, from above the high watermark down to the low one', async (t) => {
  const dir = await storeDir(t);
  const store = await BlobStore.open(dir, options);
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((x) => blob(x, 200));
  for (const x of [a, b, c, d]) await put(store, x!);
  t.equal(store.bytes, 800, 'under the high watermark (900): nothing evicted');
  store.acquire(a!.digest)!.release(); // a hit: a becomes the most recent
  const e = blob('e', 200);
  await put(store, e); // 1000 > 900: evict down to 500
  t.same(
    [a, b, c, d, e].map((x) => store.has(x!.digest)),
    [true, false, false, false, true],
    'b, c, d went (least recently used); a was hit, e is new',
  );
  t.equal(store.bytes, 400, 'stopped at the low watermark');
  t.notOk(existsSync(store.pathOf(b!.digest)), 'the file is gone too');
});

t.test('a blob being read is never evicted', async (t) => {
  const dir = await storeDir(t);
  const store = await BlobStore.open(dir, options);
  const [a, b] = ['a', 'b'].map((x) => blob(x, 200));
  await put(store, a!);
  await put(store, b!);
  const reader = store.acquire(a!.digest)!;
  await put(store, blob('c', 600)); // 1000 > 900, a is the oldest but held
  t.ok(store.has(a!.digest), 'held: kept');
  t.notOk(store.has(b!.digest));
  t.equal(store.bytes, 800, 'above the low watermark: nothing else may go');
  reader.release();
  reader.release(); // a second release is a no-op
  await put(store, blob('d', 200)); // 1000 again
  t.notOk(store.has(a!.digest), 'released: evicted like any other');
});

t.test('a write that failed fails the commit, whatever the hash says', async (t) => {
  const dir = await storeDir(t);
  const store = await BlobStore.open(dir, options);
  const { body, digest } = blob('w', 100);
  const writer = await store.create(digest);
  // The file handle closed under the writer: every write fails (as on EIO or a full disk).
  await (Reflect.get(writer, 'file') as { close(): Promise<void> }).close();
  await t.rejects(writer.write(body));
  t.ok(writer.matches(), 'the bytes handed over hash right');
  await t.rejects(writer.commit(), 'but the file is not the blob');
  t.notOk(store.has(digest));
  t.notOk(existsSync(store.pathOf(digest)));
});
