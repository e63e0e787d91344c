/**
 * What one mirror has shown of its speed lately: the time to response headers of its answers
 * (latency) and the rate of its whole-blob bodies (throughput), each read as a mean in which a
 * sample's say halves every `halfLifeMs`. Old samples fade instead of being dropped at a window's
 * edge, and how much evidence is left is part of the reading, so a reader can tell "fast" from
 * "fast, two minutes ago, once".
 *
 * The samples are kept raw (a few dozen per mirror) and weighed when read: the half-life is the
 * balancer's setting (per registry, reloadable), while the samples belong to the upstream and
 * outlive a reload that does not replace it.
 */

/** A decayed mean and the decayed weight behind it (the evidence). */
export interface SpeedReading {
  readonly value: number;
  readonly evidence: number;
}

/** Read-only view the balancer needs. */
export interface SpeedView {
  /** Seconds to response headers; evidence in answers. Undefined before the first. */
  latency(halfLifeMs: number, now: number): SpeedReading | undefined;
  /** Bytes per second over whole bodies; evidence in bytes. Undefined before the first. */
  throughput(halfLifeMs: number, now: number): SpeedReading | undefined;
}

/** Samples kept per measure: enough for a stable mean, few enough to read at every refresh. */
const CAPACITY = 32;

/** A fixed-size ring of (time, amount, seconds) samples. */
class SampleRing {
  readonly #at = new Float64Array(CAPACITY);
  readonly #amount = new Float64Array(CAPACITY);
  readonly #seconds = new Float64Array(CAPACITY);
  #next = 0;
  #count = 0;

  add(at: number, amount: number, seconds: number): void {
    this.#at[this.#next] = at;
    this.#amount[this.#next] = amount;
    this.#seconds[this.#next] = seconds;
    this.#next = (this.#next + 1) % CAPACITY;
    this.#count = Math.min(this.#count + 1, CAPACITY);
  }

  /** Σ decay·amount and Σ decay·seconds, each sample's decay halving every `halfLifeMs` of its age. */
  decayedSums(halfLifeMs: number, now: number): { amount: number; seconds: number } | undefined {
    if (this.#count === 0) return undefined;
    let amount = 0;
    let seconds = 0;
    for (let i = 0; i < this.#count; i++) {
      const decay = 0.5 ** (Math.max(0, now - this.#at[i]!) / halfLifeMs);
      amount += decay * this.#amount[i]!;
      seconds += decay * this.#seconds[i]!;
    }
    return { amount, seconds };
  }
}

export class MirrorSpeed implements SpeedView {
  readonly #now: () => number;
  /** amount 1 per answer, seconds its time to headers. */
  readonly #latency = new SampleRing();
  /** amount its bytes, seconds its body time. */
  readonly #throughput = new SampleRing();

  /** `now` in milliseconds, the balancer's clock (tests move it). */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** An answer's headers came this many seconds after its request went out. */
  answered(seconds: number): void {
    this.#latency.add(this.#now(), 1, seconds);
  }

  /** A whole body of `bytes` took `seconds` from its headers to its last byte. */
  transferred(bytes: number, seconds: number): void {
    if (bytes > 0 && seconds > 0) this.#throughput.add(this.#now(), bytes, seconds);
  }

  latency(halfLifeMs: number, now: number): SpeedReading | undefined {
    const sums = this.#latency.decayedSums(halfLifeMs, now);
    return sums === undefined || sums.amount === 0 ? undefined : { value: sums.seconds / sums.amount, evidence: sums.amount };
  }

  /** All bytes over all seconds (each decayed): slow big bodies weigh as much as they cost. */
  throughput(halfLifeMs: number, now: number): SpeedReading | undefined {
    const sums = this.#throughput.decayedSums(halfLifeMs, now);
    return sums === undefined || sums.seconds === 0 ? undefined : { value: sums.amount / sums.seconds, evidence: sums.amount };
  }
}
