/**
 * Single flight over the blob store: a request for a digest is served from the store (HIT),
 * follows the fill already running for it (JOINED), or starts that fill and follows it (MISS).
 * N concurrent pulls of one layer make one upstream fetch, and each reader goes at its own pace.
 */
import type { Metrics } from '../observability/metrics.js';
import type { FetchResult } from '../proxy/fetch-result.js';
import type { FetchSignal } from '../stream/abort.js';
import type { Sink } from '../stream/sink.js';
import { BlobFill } from './blob-fill.js';
import { CacheHealth, isDiskError } from './cache-health.js';
import type { BlobStore } from './blob-store.js';
import { follow, sendStored, type FollowResult } from './follow.js';
import type { FillState, FollowedFill } from './followed-fill.js';
import { RemoteFill, type PeerFills } from './peer-fills.js';
import type { PieceTarget } from './piece-target.js';

export type CacheOutcome = 'HIT' | 'MISS' | 'JOINED';

export type CacheResult = FollowResult & { readonly cache: CacheOutcome };

/** Fetches the whole blob into `sink` (the fill) until `signal` aborts: fetchFromUpstreams or a parallelFetch, bound to a route. */
export type FillFetch = (sink: Sink & PieceTarget, signal: FetchSignal) => Promise<FetchResult>;

/** What the cache reports (observability/metrics.ts implements it). */
export type CacheMetrics = Pick<Metrics, 'cacheRequest' | 'cacheFill'>;

export interface BlobCacheOptions {
  readonly metrics?: CacheMetrics;
  /** The other workers sharing the directory (`workers: N`); left out with one process. */
  readonly peers?: PeerFills;
  /** Whether the disk works; a failing disk makes misses relay (relay-only mode). */
  readonly health?: CacheHealth;
}

const NO_METRICS: CacheMetrics = { cacheRequest() {}, cacheFill() {} };

interface FillEntry {
  readonly starting: Promise<FollowedFill>;
  fill?: FollowedFill;
}

export class BlobCache {
  /** Fills running now, by scope and digest; `fill` is set once it is known (its temp file exists, or a peer's claim answered). */
  readonly #fills = new Map<string, FillEntry>();

  /** This worker's fills, for the room they still need on the volume. */
  readonly #running = new Set<BlobFill>();
  private readonly metrics: CacheMetrics;
  private readonly peers: PeerFills | undefined;
  readonly health: CacheHealth;

  constructor(
    readonly store: BlobStore,
    options: BlobCacheOptions = {},
  ) {
    this.metrics = options.metrics ?? NO_METRICS;
    this.peers = options.peers;
    this.health = options.health ?? new CacheHealth();
  }

  /** This worker's or another's fill of `digest` for `scope` that is streaming with a known size; undefined otherwise. */
  streaming(digest: string, scope = ''): (FollowedFill & { readonly size: number }) | undefined {
    const fill = this.#fills.get(`${scope} ${digest}`)?.fill;
    return fill?.state === 'streaming' && fill.size !== undefined ? (fill as FollowedFill & { readonly size: number }) : undefined;
  }

  /** Fills running right now. */
  get filling(): number {
    return this.#fills.size;
  }

  /**
   * Serves `digest` into `sink`; `fetch` is used only when a fill must start. `scope` (the
   * registry) decides whom a request may join: a fill runs on one registry's upstreams, and
   * another registry's request must not take that registry's 404 for its own answer.
   */
  async get(digest: string, sink: Sink, signal: FetchSignal, fetch: FillFetch, scope = ''): Promise<CacheResult> {
    const hit = this.store.has(digest) ? await this.#sendStored(digest, sink, signal) : undefined;
    if (hit !== undefined) return hit;
    // Decided without an await, so that concurrent requests find the fill the first one started.
    // A fill that failed is on its way out: the next request starts afresh.
    const key = `${scope} ${digest}`;
    const running = this.#live(key);
    const cache: CacheOutcome = running !== undefined ? 'JOINED' : 'MISS';
    if (running === undefined && !this.health.mayFill) return this.#bypass();
    const fill = await (running !== undefined ? running.starting : this.#start(key, digest, fetch));
    if (fill instanceof FoundFill) {
      const found = await this.#sendStored(digest, sink, signal);
      if (found !== undefined) return found;
    }
    // The first request of this worker for another worker's fill started nothing: it joined.
    const outcome: CacheOutcome = fill instanceof RemoteFill ? 'JOINED' : cache;
    return this.#counted({ cache: outcome, ...(await follow(fill, sink, signal, { 'x-cache': outcome })) });
  }

  /**
   * Starts a fill of `digest` that no reader waits for (a refetch after a fill that failed),
   * unless it is stored, a fill of it runs, or the disk is failing. Readers who come meanwhile join it.
   */
  refill(digest: string, fetch: FillFetch, scope = ''): void {
    const key = `${scope} ${digest}`;
    if (this.store.has(digest) || this.#live(key) !== undefined || !this.health.mayFill) return;
    this.#start(key, digest, fetch).catch(() => undefined);
  }

  /** The fill running for `key` that a request may join: a fill that failed is on its way out. */
  #live(key: string): FillEntry | undefined {
    const running = this.#fills.get(key);
    return running !== undefined && running.fill?.state !== 'failed' ? running : undefined;
  }

  /** A HIT, held against eviction while it is read; undefined when it is not stored (any more). */
  async #sendStored(digest: string, sink: Sink, signal: FetchSignal): Promise<CacheResult | undefined> {
    const stored = this.store.acquire(digest);
    if (stored === undefined) return undefined;
    try {
      return this.#counted({ cache: 'HIT', ...(await sendStored(stored.path, digest, stored.size, sink, signal, { 'x-cache': 'HIT' })) });
    } catch (err) {
      // Removed beside the gateway (`mirrorgate cache rm`, another worker's eviction): forget it and fill it again.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.store.forget(digest);
      return undefined;
    } finally {
      stored.release();
    }
  }

  /** Relay-only: the disk failed lately, so this miss is relayed (stored blobs are still served). */
  #bypass(): CacheResult {
    this.metrics.cacheRequest('bypass', 0);
    const error = new Error(`the cache's disk is failing (${this.health.failing ?? 'unknown'}): relaying`);
    return { kind: 'unavailable', cache: 'MISS', error, fetch: undefined };
  }

  #counted(result: CacheResult): CacheResult {
    if (result.kind !== 'unavailable') this.metrics.cacheRequest(result.cache === 'HIT' ? 'hit' : result.cache === 'MISS' ? 'miss' : 'joined', result.bytes);
    return result;
  }

  /** Fails every fill in flight (shutdown): their readers are cut, their spools removed; then the directory is released. */
  async close(): Promise<void> {
    const fills = await Promise.all([...this.#fills.values()].map((entry) => entry.starting.catch(() => undefined)));
    const own = fills.filter((fill): fill is BlobFill => fill instanceof BlobFill);
    await Promise.all(own.map((fill) => fill.fail(new Error('the gateway is shutting down'))));
    await this.store.close();
  }

  /**
   * Starts the fill, registered before its first await so a concurrent request joins it. With
   * peers (`workers: N`), the fill is claimed first: another worker may own it already.
   */
  #start(key: string, digest: string, fetch: FillFetch): Promise<FollowedFill> {
    const forget = (): void => {
      if (this.#fills.get(key) === entry) this.#fills.delete(key);
    };
    const claimed = this.peers?.claim(key, digest, this.store.pathOf(digest)) ?? Promise.resolve('own' as const);
    const starting = claimed.then((claim) => (claim === 'own' ? this.#own(key, digest, fetch, forget) : claim));
    const entry: FillEntry = { starting };
    this.#fills.set(key, entry);
    starting.then((fill) => {
      entry.fill = fill;
      // An own fill is forgotten once its spool is committed or gone (#run), the others when they settle.
      if (!(fill instanceof BlobFill)) whenSettled(fill, forget);
    }, forget);
    return starting;
  }

  /** The fill this worker owns: unless the blob is on disk by now, a BlobFill running `fetch`. */
  async #own(key: string, digest: string, fetch: FillFetch, ended: () => void): Promise<FollowedFill> {
    const storedPath = this.store.pathOf(digest);
    try {
      // Another process may have stored it since this index last looked: another worker's fill,
      // or `mirrorgate warm` on the same directory.
      const size = await this.store.findOnDisk(digest);
      if (size !== undefined) {
        this.peers?.settle(key, { storedPath, size });
        return new FoundFill(digest, storedPath, size);
      }
      const room = (await this.store.freeBytes()) - this.#reserved();
      const fill = new BlobFill(await this.store.create(digest), storedPath, room);
      this.#running.add(fill);
      this.peers?.publish(key, fill);
      void this.#run(fill, fetch).finally(() => {
        this.#running.delete(fill);
        ended();
      });
      return fill;
    } catch (err) {
      this.peers?.settle(key, err as Error);
      if (isDiskError(err)) this.health.failed(err);
      throw err;
    }
  }

  /** The fetch into the fill, then commit or discard. Never rejects. */
  async #run(fill: BlobFill, fetch: FillFetch): Promise<void> {
    try {
      const result = await fetch(fill, fill.abort);
      fill.outcome = result;
      if (result.kind === 'relayed') {
        await fill.commit();
        this.health.worked();
        this.metrics.cacheFill('committed', fill.written);
        return;
      }
      await fill.fail(new Error(`fill of ${fill.digest} ended ${result.kind}${result.kind === 'broken' ? `: ${result.error.message}` : ''}`));
    } catch (err) {
      await fill.fail(err as Error);
    }
    this.metrics.cacheFill('failed', fill.written);
    if (isDiskError(fill.error)) await this.#diskFailed(fill.error);
  }

  /** Relay-only for a while; a full volume also gives up the least recently used blobs. */
  async #diskFailed(err: Error & { code: string }): Promise<void> {
    this.health.failed(err);
    if (err.code === 'ENOSPC' || err.code === 'EDQUOT') await this.store.evict(undefined, { full: true }).catch(() => undefined);
  }

  /** Bytes this worker's running fills have yet to write (of those whose size is known). */
  #reserved(): number {
    let bytes = 0;
    for (const fill of this.#running) bytes += Math.max(0, (fill.size ?? 0) - fill.written);
    return bytes;
  }
}

/** Calls `settled` once the fill committed or failed. */
function whenSettled(fill: FollowedFill, settled: () => void): void {
  const done = (state: FillState): boolean => state === 'committed' || state === 'failed';
  if (done(fill.state)) return settled();
  const stop = fill.onChange(() => {
    if (!done(fill.state)) return;
    stop();
    settled();
  });
}

/** A blob that was on disk when its fill was to start: followed like a committed fill. */
class FoundFill implements FollowedFill {
  readonly state = 'committed';
  readonly error = undefined;
  readonly outcome = undefined;

  constructor(
    readonly digest: string,
    readonly storedPath: string,
    readonly size: number,
  ) {}

  get written(): number {
    return this.size;
  }
  get spoolPath(): string {
    return this.storedPath;
  }
  onChange(): () => void {
    return () => undefined;
  }
}
