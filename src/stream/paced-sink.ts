/**
 * A bandwidth cap as backpressure: a token bucket shared by every sink that draws on it, and a
 * Sink wrapper that answers `write` with false once the bucket is empty and calls the producer
 * back when it has refilled. The producer (the upstream relay) pauses its socket meanwhile, so
 * the cap holds on the wire, not just in memory.
 */
import type { ResponseHeaders, Sink } from './sink.js';

export class TokenBucket {
  #tokens: number;
  #at: number;

  /** `burst`: bytes that may go at once after an idle spell; a second's worth by default. */
  constructor(
    readonly bytesPerSecond: number,
    private readonly burst: number = bytesPerSecond,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#tokens = burst;
    this.#at = now();
  }

  /** Takes `bytes` (the balance may go negative); returns the milliseconds until it is positive again. */
  take(bytes: number): number {
    const now = this.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) * this.bytesPerSecond) / 1000);
    this.#at = now;
    this.#tokens -= bytes;
    return this.#tokens >= 0 ? 0 : (-this.#tokens * 1000) / this.bytesPerSecond;
  }
}

class PacedSink implements Sink {
  #waitMs = 0;
  #innerFull = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly inner: Sink,
    private readonly bucket: TokenBucket,
  ) {}

  start(status: number, headers: ResponseHeaders): void {
    this.inner.start(status, headers);
  }

  write(chunk: Buffer): boolean {
    this.#innerFull = !this.inner.write(chunk);
    this.#waitMs = this.bucket.take(chunk.length);
    return !this.#innerFull && this.#waitMs === 0;
  }

  onceDrain(resume: () => void): void {
    const afterPace = (): void => {
      this.#timer = undefined;
      if (this.#innerFull) this.inner.onceDrain(resume);
      else resume();
    };
    if (this.#waitMs === 0) return afterPace();
    this.#timer = setTimeout(afterPace, this.#waitMs);
  }

  end(): void {
    clearTimeout(this.#timer);
    this.inner.end();
  }
}

/** `sink`, written no faster than `bucket` allows. */
export function pacedSink(sink: Sink, bucket: TokenBucket | undefined): Sink {
  return bucket === undefined ? sink : new PacedSink(sink, bucket);
}
