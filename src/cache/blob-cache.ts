/**
 * Single flight over the blob store: a request for a digest is served from the store (HIT),
 * follows the fill already running for it (JOINED), or starts that fill and follows it (MISS).
 * N concurrent pulls of one layer make one upstream fetch, and each reader goes at its own pace.
 */
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

export class BlobCache {
  /** Fills running now, by digest; the promise settles once the temp file exists. */
  readonly #fills = new Map<string, Promise<BlobFill>>();

  constructor(readonly store: BlobStore) {}

  /** Fills running right now. */
  get filling(): number {
    return this.#fills.size;
  }

  /** Serves `digest` into `sink`; `fetch` is used only when a fill must start. */
  async get(digest: string, sink: Sink, signal: FetchSignal, fetch: FillFetch): Promise<CacheResult> {
    const stored = this.store.acquire(digest);
    if (stored !== undefined) {
      try {
        return { cache: 'HIT', ...(await sendStored(stored.path, digest, stored.size, sink, signal, { 'x-cache': 'HIT' })) };
      } finally {
        stored.release();
      }
    }
    const running = this.#fills.get(digest);
    const cache: CacheOutcome = running === undefined ? 'MISS' : 'JOINED';
    const fill = await (running ?? this.#start(digest, fetch));
    return { cache, ...(await follow(fill, sink, signal, { 'x-cache': cache })) };
  }

  /** Starts the fill, registered before its first await so a concurrent request joins it. */
  #start(digest: string, fetch: FillFetch): Promise<BlobFill> {
    const starting = this.store.create(digest).then((writer) => {
      const fill = new BlobFill(writer, this.store.pathOf(digest));
      void this.#run(fill, fetch).finally(() => this.#fills.delete(digest));
      return fill;
    });
    this.#fills.set(digest, starting);
    starting.catch(() => this.#fills.delete(digest));
    return starting;
  }

  /** The fetch into the fill, then commit or discard. Never rejects. */
  async #run(fill: BlobFill, fetch: FillFetch): Promise<void> {
    try {
      const result = await fetch(fill, fill.abort);
      fill.outcome = result;
      if (result.kind === 'relayed') await fill.commit();
      else await fill.fail(new Error(`fill of ${fill.digest} ended ${result.kind}${result.kind === 'broken' ? `: ${result.error.message}` : ''}`));
    } catch (err) {
      await fill.fail(err as Error);
    }
  }
}
