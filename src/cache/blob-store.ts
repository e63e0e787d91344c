/**
 * Blobs on local disk, keyed by digest only (`blobs/sha256/ab/<hex>`), shared by every
 * repository and registry. The first piece of the cache (issue 9); fills, tags and the HTTP
 * side build on it.
 *
 * - A blob reaches its final path only after its digest matched: it is written under `tmp/`,
 *   fsynced, then renamed (the way git and distribution commit objects), so nothing partial is
 *   ever at a final path. On open, `tmp/` is emptied and the index is rebuilt from the tree.
 * - Eviction is least recently used, by access: above the high watermark, blobs are removed
 *   oldest first until the total is at the low watermark — never a blob that is being read.
 */
import { createHash, type Hash } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, statfs, utimes, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { lockDir } from './dir-lock.js';

export interface BlobStoreOptions {
  /** Bytes the blobs may take in all. */
  readonly maxBytes: number;
  /** Fraction of maxBytes above which eviction starts (e.g. 0.9). */
  readonly highWatermark: number;
  /** Fraction of maxBytes eviction brings the total down to (e.g. 0.8). */
  readonly lowWatermark: number;
  /** Told after each eviction pass that removed something. */
  readonly onEvicted?: (blobs: number, bytes: number) => void;
  /** Told when this store added or removed a blob (`workers: N`: the other workers' indexes follow). */
  readonly onIndexChange?: (change: { readonly op: 'stored' | 'removed'; readonly digest: string; readonly size: number }) => void;
}

export interface StoredBlob {
  readonly digest: string;
  readonly path: string;
  readonly size: number;
  /** Ends this reader's hold: the blob may be evicted again once no reader holds it. */
  release(): void;
}

interface Entry {
  readonly size: number;
  readers: number;
}

/** Only sha256 is stored: it is what every registry and client uses for blobs. */
const SHA256 = /^sha256:([a-f0-9]{64})$/;

export class BlobStoreError extends Error {
  readonly code = 'BLOB_STORE';
}

export class BlobStore {
  /** Least recently used first: a Map keeps insertion order, and a hit re-inserts. */
  readonly #index = new Map<string, Entry>();
  #bytes = 0;
  #tmpCounter = 0;
  #unlock: (() => Promise<void>) | undefined;

  private constructor(
    readonly dir: string,
    private readonly options: BlobStoreOptions,
  ) {}

  /**
   * Opens (creating) the store under `dir`: empties `tmp/` and rebuilds the index from disk.
   * `shared`: `tmp/` is left alone and no lock is taken, because another process owns the
   * directory: a running gateway (for the `cache` command beside it) or the cluster's primary
   * (for its workers; it emptied `tmp/` and holds the lock). Otherwise the directory's lock is
   * taken (dir-lock.ts; a DirLockedError when another live process holds it) until `close()`.
   */
  static async open(dir: string, options: BlobStoreOptions, { shared = false } = {}): Promise<BlobStore> {
    const store = new BlobStore(dir, options);
    if (!shared) {
      await mkdir(dir, { recursive: true });
      store.#unlock = await lockDir(dir);
      await emptyTmp(dir);
    }
    await mkdir(store.#tmpDir, { recursive: true });
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    await store.#rebuild();
    return store;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Releases the directory's lock (the files stay). */
  async close(): Promise<void> {
    const unlock = this.#unlock;
    this.#unlock = undefined;
    await unlock?.();
  }

  get count(): number {
    return this.#index.size;
  }

  has(digest: string): boolean {
    return this.#index.has(digest);
  }

  /**
   * A held blob for reading, or undefined when it is not stored. The hit makes it the most
   * recently used and refreshes its access time on disk (for the next rebuild's order).
   */
  acquire(digest: string): StoredBlob | undefined {
    const entry = this.#index.get(digest);
    if (entry === undefined) return undefined;
    this.#index.delete(digest);
    this.#index.set(digest, entry);
    entry.readers++;
    const path = this.pathOf(digest);
    const now = new Date();
    // Best effort: a failed touch only makes the order after a restart less exact.
    utimes(path, now, now).catch(() => undefined);
    let released = false;
    return {
      digest,
      path,
      size: entry.size,
      release: () => {
        if (released) return;
        released = true;
        entry.readers--;
      },
    };
  }

  /** Every stored blob, least recently used first. */
  *list(): Iterable<{ readonly digest: string; readonly size: number; readonly path: string }> {
    for (const [digest, entry] of this.#index) yield { digest, size: entry.size, path: this.pathOf(digest) };
  }

  /**
   * Takes into the index a blob that another process put at its final path (another worker's
   * fill, or `mirrorgate warm`); no eviction pass, and nobody is told.
   */
  adopt(digest: string, size: number): void {
    if (this.#index.has(digest)) return;
    this.#index.set(digest, { size, readers: 0 });
    this.#bytes += size;
  }

  /** Adopts the blob when its file is at its final path (put there by another process); its size, or undefined. */
  async findOnDisk(digest: string): Promise<number | undefined> {
    const info = await stat(this.pathOf(digest)).catch(() => undefined);
    if (info === undefined || !info.isFile()) return undefined;
    this.adopt(digest, info.size);
    return info.size;
  }

  /** Drops a blob from the index whose file turned out to be gone (removed beside the gateway). */
  forget(digest: string): void {
    const entry = this.#index.get(digest);
    if (entry === undefined) return;
    this.#index.delete(digest);
    this.#bytes -= entry.size;
  }

  /** Removes a blob nobody reads; false when it is not stored or being read. */
  async remove(digest: string): Promise<boolean> {
    const entry = this.#index.get(digest);
    if (entry === undefined || entry.readers > 0) return false;
    this.#index.delete(digest);
    this.#bytes -= entry.size;
    await rm(this.pathOf(digest), { force: true });
    this.options.onIndexChange?.({ op: 'removed', digest, size: entry.size });
    return true;
  }

  /** Starts writing `digest`; nothing is visible until `commit()` found the bytes match. */
  async create(digest: string): Promise<BlobWriter> {
    const hex = SHA256.exec(digest)?.[1];
    if (hex === undefined) throw new BlobStoreError(`not a sha256 digest: ${digest}`);
    const tmp = join(this.#tmpDir, `${hex}.${process.pid}.${++this.#tmpCounter}`);
    // Read too: a fill written in pieces hashes its prefix back from the file.
    const file = await open(tmp, 'wx+');
    return new BlobWriter(this, digest, hex, tmp, file);
  }

  pathOf(digest: string): string {
    const hex = SHA256.exec(digest)?.[1];
    if (hex === undefined) throw new BlobStoreError(`not a sha256 digest: ${digest}`);
    return join(this.dir, 'blobs', 'sha256', hex.slice(0, 2), hex);
  }

  /** Called by a BlobWriter whose bytes matched and whose file is at its final path. */
  async added(digest: string, size: number): Promise<void> {
    if (!this.#index.has(digest)) {
      this.#index.set(digest, { size, readers: 0 });
      this.#bytes += size;
      this.options.onIndexChange?.({ op: 'stored', digest, size });
    }
    await this.evict(digest);
  }

  /** Bytes the volume under the store has free for this process. */
  async freeBytes(): Promise<number> {
    const info = await statfs(this.dir);
    return info.bavail * info.bsize;
  }

  /**
   * Removes least recently used blobs that nobody reads, from above the high watermark down to
   * the low one. `keep`: a blob just committed, which its fill is about to serve. `full`: the
   * volume is full below maxSize (it is shared, or maxSize is too big), so the low watermark is
   * taken of what the cache holds now.
   */
  async evict(keep?: string, { full = false } = {}): Promise<string[]> {
    const { maxBytes, highWatermark, lowWatermark } = this.options;
    if (!full && this.#bytes <= maxBytes * highWatermark) return [];
    const target = Math.min(maxBytes, this.#bytes) * lowWatermark;
    const evicted: string[] = [];
    let freed = 0;
    for (const [digest, entry] of this.#index) {
      if (this.#bytes <= target) break;
      if (entry.readers > 0 || digest === keep) continue;
      this.#index.delete(digest);
      this.#bytes -= entry.size;
      freed += entry.size;
      evicted.push(digest);
      this.options.onIndexChange?.({ op: 'removed', digest, size: entry.size });
      // Best effort: a file that cannot be removed now is gone from the index all the same.
      await rm(this.pathOf(digest), { force: true }).catch(() => undefined);
    }
    if (evicted.length > 0) this.options.onEvicted?.(evicted.length, freed);
    return evicted;
  }

  get #tmpDir(): string {
    return join(this.dir, 'tmp');
  }

  /** The index from the tree, least recently accessed first. */
  async #rebuild(): Promise<void> {
    const root = join(this.dir, 'blobs', 'sha256');
    const found: { digest: string; size: number; atimeMs: number }[] = [];
    for (const prefix of await readdir(root)) {
      if (!/^[a-f0-9]{2}$/.test(prefix)) continue;
      for (const name of await readdir(join(root, prefix))) {
        // Only names that are a digest filed under their own prefix count as blobs.
        if (!/^[a-f0-9]{64}$/.test(name) || !name.startsWith(prefix)) continue;
        const info = await stat(join(root, prefix, name));
        if (info.isFile()) found.push({ digest: `sha256:${name}`, size: info.size, atimeMs: info.atimeMs });
      }
    }
    found.sort((a, b) => a.atimeMs - b.atimeMs);
    for (const { digest, size } of found) {
      this.#index.set(digest, { size, readers: 0 });
      this.#bytes += size;
    }
  }
}

/**
 * One blob being written: bytes in, hashed as they arrive (synchronously, so the digest is known
 * the moment the last byte is handed over), written to the temp file in order, and committed
 * only on a digest match.
 */
export class BlobWriter {
  readonly #hash: Hash = createHash('sha256');
  #actual: string | undefined;
  #size = 0;
  #done = false;
  /** The file writes, one after the other. */
  #tail: Promise<void> = Promise.resolve();
  /** The first write that failed: the file is then not the blob, whatever the hash says. */
  #writeError: Error | undefined;

  constructor(
    private readonly store: BlobStore,
    readonly digest: string,
    private readonly hex: string,
    readonly tmpPath: string,
    private readonly file: FileHandle,
  ) {}

  /** Bytes handed over so far (some may still be on their way to the file). */
  get size(): number {
    return this.#size;
  }

  /** Appends `chunk`; resolves once it is in the file. Writes land in call order. */
  write(chunk: Buffer): Promise<void> {
    if (this.#done) return Promise.reject(new BlobStoreError(`blob writer for ${this.digest} already finished`));
    this.#hash.update(chunk);
    const position = this.#size;
    this.#size += chunk.length;
    // Positional: a failed write cannot shift the bytes after it.
    const written = this.#tail.then(() => writeAll(this.file, chunk, position));
    this.#tail = written.catch((err: unknown) => {
      this.#writeError ??= err as Error;
    });
    return written;
  }

  /**
   * Writes `chunk` at `position` without hashing it: a piece of a fill fetched in parallel.
   * Resolves once it is in the file; `hashThrough` then takes the bytes into the digest in order.
   */
  writeAt(position: number, chunk: Buffer): Promise<void> {
    if (this.#done) return Promise.reject(new BlobStoreError(`blob writer for ${this.digest} already finished`));
    const written = writeAll(this.file, chunk, position);
    written.catch((err: unknown) => {
      this.#writeError ??= err as Error;
    });
    return written;
  }

  /** Hashes the file's bytes from where the hash is up to `end` (exclusive): pieces written with writeAt, once contiguous. */
  async hashThrough(end: number): Promise<void> {
    if (this.#writeError !== undefined) throw this.#writeError;
    const buffer = Buffer.allocUnsafe(HASH_READ_SIZE);
    while (this.#size < end) {
      const { bytesRead } = await this.file.read(buffer, 0, Math.min(buffer.length, end - this.#size), this.#size);
      if (bytesRead === 0) throw new BlobStoreError(`blob file for ${this.digest} ended at byte ${this.#size} of ${end}`);
      this.#hash.update(buffer.subarray(0, bytesRead));
      this.#size += bytesRead;
    }
  }

  /** Whether the bytes handed over so far are the blob; call once they are all handed over. */
  matches(): boolean {
    this.#actual ??= this.#hash.digest('hex');
    return this.#actual === this.hex;
  }

  /** The digest of what was handed over, for messages. */
  get actual(): string {
    this.matches();
    return `sha256:${this.#actual ?? ''}`;
  }

  /**
   * Waits for the writes, fsyncs, checks the digest and renames into place. A mismatch removes
   * the file and throws: wrong bytes are never stored.
   */
  async commit(): Promise<void> {
    this.#finish();
    try {
      await this.#tail;
      if (this.#writeError !== undefined) throw this.#writeError;
      if (!this.matches()) throw new BlobStoreError(`content does not match ${this.digest.slice(0, 19)}…: got ${this.actual.slice(0, 19)}…`);
      await this.file.sync();
      await this.file.close();
      const final = this.store.pathOf(this.digest);
      await mkdir(join(final, '..'), { recursive: true });
      await rename(this.tmpPath, final);
      await syncDirectory(join(final, '..'));
    } catch (err) {
      await this.#discard();
      throw err;
    }
    await this.store.added(this.digest, this.#size);
  }

  /** Gives up on the blob: the temp file goes. */
  async abort(): Promise<void> {
    if (this.#done) return;
    this.#finish();
    await this.#tail;
    await this.#discard();
  }

  #finish(): void {
    if (this.#done) throw new BlobStoreError(`blob writer for ${this.digest} already finished`);
    this.#done = true;
  }

  async #discard(): Promise<void> {
    await this.file.close().catch(() => undefined);
    await rm(this.tmpPath, { force: true });
  }
}

/** Removes every temp file: fills in progress that no process will finish. */
export async function emptyTmp(dir: string): Promise<void> {
  await rm(join(dir, 'tmp'), { recursive: true, force: true });
}

/** Removes the temp files of one process (a worker that died mid-fill); best effort. */
export async function removeTmpOf(dir: string, pid: number): Promise<void> {
  const names = await readdir(join(dir, 'tmp')).catch(() => [] as string[]);
  await Promise.all(names.filter((name) => name.split('.')[1] === String(pid)).map((name) => rm(join(dir, 'tmp', name), { force: true })));
}

/** Read size when hashing pieces back from the file. */
const HASH_READ_SIZE = 1024 * 1024;

async function writeAll(file: FileHandle, chunk: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < chunk.length) {
    const { bytesWritten } = await file.write(chunk, written, chunk.length - written, position + written);
    written += bytesWritten;
  }
}

/** Makes a rename durable: the directory entry is on disk once its directory is fsynced. */
async function syncDirectory(path: string): Promise<void> {
  const dir = await open(path, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
