/**
 * The breaker's count of the last calls, beside opossum's time window (issue 12). opossum opens
 * only when `volumeThreshold` calls fall inside its 10 s window; at a normal pull rate they never
 * do, and a frozen mirror (SIGSTOP: it accepts, never answers) kept its breaker closed for minutes
 * while every pull that met it waited out `timeouts.headers`. Counting calls, not seconds, makes
 * the decision independent of the request rate, as resilience4j's COUNT_BASED window does:
 *  - `consecutiveFailures` failed or slow calls in a row open it (three timeouts of a frozen
 *    mirror, however far apart);
 *  - among the last `size` (= volumeThreshold) calls, a failure share above
 *    errorThresholdPercentage or a slow share at or above `slowCall.rate` opens it (a crawling
 *    mirror that still answers, only too late to be worth asking).
 * A slow call is one whose response headers took longer than `slowCall.threshold`.
 * Pure: no timers, no I/O; the breaker feeds it and acts on its answer.
 */
export type CallResult = 'ok' | 'slow' | 'failed';

export interface CallWindowLimits {
  /** Share (0–1) of failures above which it opens. */
  readonly failureRate: number;
  /** Share (0–1) of slow calls at or above which it opens. */
  readonly slowRate: number;
  /** Bad calls in a row that open it; 0: off. */
  readonly consecutive: number;
}

const OK = 0;
const SLOW = 1;
const FAILED = 2;
const CODE: Record<CallResult, number> = { ok: OK, slow: SLOW, failed: FAILED };

export class CallWindow {
  readonly #ring: Uint8Array;
  readonly #limits: CallWindowLimits;
  #next = 0;
  #count = 0;
  #failed = 0;
  #slow = 0;
  #streak = 0;

  constructor(size: number, limits: CallWindowLimits) {
    this.#ring = new Uint8Array(size);
    this.#limits = limits;
  }

  /** Counts one finished call; true when the breaker should open now. */
  record(result: CallResult): boolean {
    const code = CODE[result];
    if (this.#count === this.#ring.length) this.#forget(this.#ring[this.#next]!);
    else this.#count++;
    this.#ring[this.#next] = code;
    this.#next = (this.#next + 1) % this.#ring.length;
    if (code === FAILED) this.#failed++;
    else if (code === SLOW) this.#slow++;
    this.#streak = code === OK ? 0 : this.#streak + 1;

    const { consecutive, failureRate, slowRate } = this.#limits;
    if (consecutive > 0 && this.#streak >= consecutive) return true;
    if (this.#count < this.#ring.length) return false;
    return this.#failed / this.#count > failureRate || this.#slow / this.#count >= slowRate;
  }

  /** Forgets everything (the breaker opened: what happened before says nothing about after). */
  reset(): void {
    this.#next = this.#count = this.#failed = this.#slow = this.#streak = 0;
  }

  #forget(code: number): void {
    if (code === FAILED) this.#failed--;
    else if (code === SLOW) this.#slow--;
  }
}
