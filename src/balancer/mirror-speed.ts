/**
 * What one mirror has shown of its speed lately: the time to response headers of its answers
 * (latency) and the rate of its blob bodies (throughput), each read as a mean in which a
 * sample's say halves every `halfLifeMs`. Old samples fade instead of being dropped at a window's
 * edge, and how much evidence is left is part of the reading, so a reader can tell "fast" from
 * "fast, two minutes ago, once".
 *
 * Throughput is the mirror's, not one connection's: bodies that overlapped in time shared its
 * link, so each overlapping second is split among the bodies it carried. Without that, a mirror
 * given more of a busy gateway's pulls (or a fill's sibling pieces) would look slower the more
 * it is used, and the weights would settle between equal and the speed ratios (towards their
 * square roots when every pull overlaps others: the first adaptive bench run's 39/35/26 % for
 * 60/40/20 MiB/s links).
 *
 * The samples are kept raw (a few dozen per mirror) and weighed when read: the half-life is the
 * balancer's setting (per registry, reloadable), while the samples belong to the upstream and
 * outlive a reload that does not replace it. The overlaps are worked out when read too, so a
 * body that ends after another one still counts in the other's share.
 */
import { sharedMs } from './link-share.js';

/** A decayed mean and the decayed weight behind it (the evidence). */
export interface SpeedReading {
  readonly value: number;
  readonly evidence: number;
}

/** Read-only view the balancer needs. */
export interface SpeedView {
  /** Seconds to response headers; evidence in answers. Undefined before the first. */
  latency(halfLifeMs: number, now: number): SpeedReading | undefined;
  /** Bytes per second of the mirror's link while busy; evidence in bytes. Undefined before the first. */
  throughput(halfLifeMs: number, now: number): SpeedReading | undefined;
}

/** Samples kept per measure: enough for a stable mean, few enough to read at every refresh. */
const CAPACITY = 32;

/**
 * A fixed-size ring of samples: when each ended, its amount, its seconds, and of those the
 * seconds it was active (a body its reader paused was not using the link all along).
 */
class SampleRing {
  readonly #at = new Float64Array(CAPACITY);
  readonly #amount = new Float64Array(CAPACITY);
  readonly #seconds = new Float64Array(CAPACITY);
  readonly #active = new Float64Array(CAPACITY);
  #next = 0;
  #count = 0;

  add(at: number, amount: number, seconds: number, active = seconds): void {
    this.#at[this.#next] = at;
    this.#amount[this.#next] = amount;
    this.#seconds[this.#next] = seconds;
    this.#active[this.#next] = active;
    this.#next = (this.#next + 1) % CAPACITY;
    this.#count = Math.min(this.#count + 1, CAPACITY);
  }

  /**
   * Σ decay·amount and Σ decay·seconds, each sample's decay halving every `halfLifeMs` of its age.
   * `shared`: a sample's seconds are its share of the time it overlapped with others
   * (link-share.ts), scaled to the part of it that was active.
   */
  decayedSums(halfLifeMs: number, now: number, shared = false): { amount: number; seconds: number } | undefined {
    if (this.#count === 0) return undefined;
    const indices = Array.from({ length: this.#count }, (_, i) => i);
    const sharedSeconds = shared
      ? sharedMs(indices.map((i) => ({ start: this.#at[i]! - 1000 * this.#seconds[i]!, end: this.#at[i]! }))).map((ms) => ms / 1000)
      : undefined;
    let amount = 0;
    let seconds = 0;
    for (const i of indices) {
      const decay = 0.5 ** (Math.max(0, now - this.#at[i]!) / halfLifeMs);
      amount += decay * this.#amount[i]!;
      seconds += decay * (sharedSeconds === undefined ? this.#seconds[i]! : (sharedSeconds[i]! * this.#active[i]!) / this.#seconds[i]!);
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

  /** A body of `bytes` took `seconds` from its headers to its last byte (just now), `pausedSeconds` of them held back by its reader. */
  transferred(bytes: number, seconds: number, pausedSeconds = 0): void {
    const active = seconds - pausedSeconds;
    if (bytes > 0 && active > 0) this.#throughput.add(this.#now(), bytes, seconds, active);
  }

  latency(halfLifeMs: number, now: number): SpeedReading | undefined {
    const sums = this.#latency.decayedSums(halfLifeMs, now);
    return sums === undefined || sums.amount === 0 ? undefined : { value: sums.seconds / sums.amount, evidence: sums.amount };
  }

  /** All bytes over all seconds the link was busy (each decayed): slow big bodies weigh as much as they cost. */
  throughput(halfLifeMs: number, now: number): SpeedReading | undefined {
    const sums = this.#throughput.decayedSums(halfLifeMs, now, true);
    return sums === undefined || sums.seconds === 0 ? undefined : { value: sums.amount / sums.seconds, evidence: sums.amount };
  }
}
