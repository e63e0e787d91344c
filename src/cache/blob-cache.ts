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
import type { BlobStore } from './blob-store.js';
import { follow, sendStored, type FollowResult } from './follow.js';

export type CacheOutcome = 'HIT' | 'MISS' | 'JOINED';

export type CacheResult = FollowResult & { readonly cache: CacheOutcome };

/** Fetches the whole blob into `sink` (the fill) until `signal` aborts: fetchFromUpstreams, bound to a route. */
export type FillFetch = (sink: Sink, signal: FetchSignal) => Promise<FetchResult>;

/** What the cache reports (observability/metrics.ts implements it). */
export type CacheMetrics = Pick<Metrics, 'cacheRequest' | 'cacheFill'>;

const NO_METRICS: CacheMetrics = { cacheRequest() {}, cacheFill() {} };

export class BlobCache {
  /** Fills running now, by scope and digest; `fill` is set once its temp file exists. */
  readonly #fills = new Map<string, { readonly starting: Promise<BlobFill>; fill?: BlobFill }>();

  constructor(
    readonly store: BlobStore,
    private readonly metrics: CacheMetrics = NO_METRICS,
  ) {}

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
    const stored = this.store.acquire(digest);
    if (stored !== undefined) {
      try {
        return this.#counted({ cache: 'HIT', ...(await sendStored(stored.path, digest, stored.size, sink, signal, { 'x-cache': 'HIT' })) });
      } catch (err) {
        // Removed beside the gateway (`mirrorgate cache rm`): forget it and fill it again.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        this.store.forget(digest);
      } finally {
        stored.release();
      }
    }
    // Decided without an await, so that concurrent requests find the fill the first one started.
    // A fill that failed is on its way out: the next request starts afresh.
    const key = `${scope} ${digest}`;
    const running = this.#fills.get(key);
    const join = running !== undefined && running.fill?.state !== 'failed';
    const cache: CacheOutcome = join ? 'JOINED' : 'MISS';
    const fill = await (join ? running.starting : this.#start(key, digest, fetch));
    return this.#counted({ cache, ...(await follow(fill, sink, signal, { 'x-cache': cache })) });
  }

  #counted(result: CacheResult): CacheResult {
    if (result.kind !== 'unavailable') this.metrics.cacheRequest(result.cache === 'HIT' ? 'hit' : result.cache === 'MISS' ? 'miss' : 'joined', result.bytes);
    return result;
  }

  /** Fails every fill in flight (shutdown): their readers are cut, their spools removed; then the directory is released. */
  async close(): Promise<void> {
    const fills = await Promise.all([...this.#fills.values()].map((entry) => entry.starting.catch(() => undefined)));
    await Promise.all(fills.flatMap((fill) => (fill === undefined ? [] : [fill.fail(new Error('the gateway is shutting down'))])));
    await this.store.close();
  }

  /** Starts the fill, registered before its first await so a concurrent request joins it. */
  #start(key: string, digest: string, fetch: FillFetch): Promise<BlobFill> {
    const forget = (): void => {
      if (this.#fills.get(key) === entry) this.#fills.delete(key);
    };
    const starting: Promise<BlobFill> = this.store.create(digest).then((writer) => {
      const fill = new BlobFill(writer, this.store.pathOf(digest));
      entry.fill = fill;
      void this.#run(fill, fetch).finally(forget);
      return fill;
    });
    const entry: { readonly starting: Promise<BlobFill>; fill?: BlobFill } = { starting };
    this.#fills.set(key, entry);
    starting.catch(forget);
    return starting;
  }

  /** The fetch into the fill, then commit or discard. Never rejects. */
  async #run(fill: BlobFill, fetch: FillFetch): Promise<void> {
    try {
      const result = await fetch(fill, fill.abort);
      fill.outcome = result;
      if (result.kind === 'relayed') {
        await fill.commit();
        this.metrics.cacheFill('committed', fill.written);
        return;
      }
      await fill.fail(new Error(`fill of ${fill.digest} ended ${result.kind}${result.kind === 'broken' ? `: ${result.error.message}` : ''}`));
    } catch (err) {
      await fill.fail(err as Error);
    }
    this.metrics.cacheFill('failed', fill.written);
  }
}
