/**
 * What the cache learns from a parallel fill whose whole-blob digest did not match (issue 10).
 * Its pieces came from several mirrors and the digest cannot say whose bytes were wrong, so:
 * - each mirror that delivered bytes is implicated; one implicated twice within `windowMs` (in
 *   two fills) is to be taken out of rotation, as a single-stream mismatch takes its one mirror
 *   out at once. A fill with a single contributor names it outright.
 * - the blob is fetched again from one mirror, the top one first, and single-source for a while
 *   after (`singleSource`): a lying mirror then fails its own fetch and is quarantined by the
 *   ordinary digest check, and a mirror whose own fetch of the blob matched is cleared
 *   (`cleared`), so that with two mirrors the honest one is not taken out with the liar.
 */
import { LRUCache } from 'lru-cache';

/** How long an implication is remembered, and a mismatched blob is fetched single-source. */
const DEFAULT_WINDOW_MS = 60 * 60_000;
/** Mirrors and blobs remembered at most: a bound on memory whatever the mirrors do. */
const MAX_REMEMBERED = 10_000;
/** Implications in the window that take a mirror out of rotation. */
const IMPLICATED_OUT = 2;

export class ParallelMismatches {
  readonly #implications: LRUCache<string, number>;
  readonly #singleSource: LRUCache<string, true>;

  /** `now`: milliseconds on a monotonic clock (injected by tests). */
  constructor(windowMs = DEFAULT_WINDOW_MS, now: () => number = () => performance.now()) {
    const perf = { now };
    this.#implications = new LRUCache({ max: MAX_REMEMBERED, ttl: windowMs, perf, ttlResolution: 0 });
    this.#singleSource = new LRUCache({ max: MAX_REMEMBERED, ttl: windowMs, perf, ttlResolution: 0 });
  }

  /**
   * A parallel fill of `digest` on `registry` failed its digest with bytes from `contributors`.
   * Returns the mirrors to take out of rotation now (each implication that took one out is spent).
   */
  mismatched(registry: string, digest: string, contributors: readonly string[]): string[] {
    this.#singleSource.set(digest, true);
    if (contributors.length === 1) return [...contributors];
    const out: string[] = [];
    for (const name of contributors) {
      const key = `${registry} ${name}`;
      // ttl is not renewed on update: the window runs from the first implication.
      const count = (this.#implications.get(key) ?? 0) + 1;
      if (count < IMPLICATED_OUT) {
        this.#implications.set(key, count, { noUpdateTTL: true });
        continue;
      }
      this.#implications.delete(key);
      out.push(name);
    }
    return out;
  }

  /** `name` served the whole blob of a mismatched fill right on its own: its implications are dropped. */
  cleared(registry: string, name: string): void {
    this.#implications.delete(`${registry} ${name}`);
  }

  /** Whether `digest` failed a parallel fill lately: fetch it from one mirror. */
  singleSource(digest: string): boolean {
    return this.#singleSource.has(digest);
  }
}
