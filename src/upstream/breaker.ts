/**
 * The one place that knows opossum. One breaker per upstream; it decides whether the upstream
 * takes requests and reports every change through one callback.
 *
 * opossum's own timeout is off (`timeout: false`): it only races a timer against the work and
 * never cancels it, and its shared AbortController would abort every concurrent call. Each
 * attempt owns its timeouts instead (undici's connect/headers/body timers cancel the request).
 * Rolling percentiles and snapshots are off too: they cost work on every failure.
 */
import CircuitBreaker from 'opossum';
import type { BreakerConfig } from '../config/types.js';

export type BreakerState = 'closed' | 'half-open' | 'open';

export class BreakerOpenError extends Error {
  readonly code = 'BREAKER_OPEN';
  constructor(upstream: string) {
    super(`circuit breaker of upstream ${upstream} is open`);
  }
}

export interface BreakerEvents {
  /**
   * `accepting` is false while open, and while a half-open breaker's one trial request is in
   * flight: opossum rejects every other call then, so the balancer must not pick the upstream.
   */
  onChange(state: BreakerState, accepting: boolean): void;
}

export class UpstreamBreaker {
  readonly #breaker: CircuitBreaker<[() => Promise<unknown>], unknown>;
  readonly #name: string;
  #state: BreakerState = 'closed';
  /** Until when an upstream that asked us to back off (429 Retry-After) stays out. */
  #heldUntil = 0;
  #holdTimer: NodeJS.Timeout | undefined;
  readonly #events: BreakerEvents;

  /** `isFault(err)`: whether an error counts against the upstream (a client hang-up does not). */
  constructor(name: string, config: BreakerConfig, isFault: (err: unknown) => boolean, events: BreakerEvents) {
    this.#name = name;
    this.#events = events;
    this.#breaker = new CircuitBreaker((work: () => Promise<unknown>) => work(), {
      name,
      timeout: false,
      errorThresholdPercentage: config.errorThresholdPercentage,
      volumeThreshold: config.volumeThreshold,
      rollingCountTimeout: config.windowMs,
      rollingCountBuckets: 10,
      resetTimeout: config.resetTimeoutMs,
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
      errorFilter: (err: unknown) => !isFault(err),
    });
    this.#breaker.on('open', () => this.#set('open', false));
    this.#breaker.on('halfOpen', () => {
      if (Date.now() >= this.#heldUntil) this.#set('half-open', true);
    });
    this.#breaker.on('close', () => this.#set('closed', true));
  }

  get state(): BreakerState {
    return this.#state;
  }

  /** Whether a new request would be let through right now. */
  get accepting(): boolean {
    return (this.#breaker.closed || this.#breaker.pendingClose) && Date.now() >= this.#heldUntil;
  }

  /**
   * Opens the breaker for at least `ms` (a rate-limited upstream's Retry-After), longer if
   * opossum's own resetTimeout has not run out by then.
   */
  holdOpen(ms: number): void {
    this.#heldUntil = Math.max(this.#heldUntil, Date.now() + ms);
    if (!this.#breaker.opened) this.#breaker.open();
    clearTimeout(this.#holdTimer);
    this.#holdTimer = setTimeout(() => {
      // opossum half-opened during the hold and was kept quiet: say so now.
      if (this.#breaker.halfOpen) this.#set('half-open', true);
    }, this.#heldUntil - Date.now());
    this.#holdTimer.unref();
  }

  run<T>(work: () => Promise<T>): Promise<T> {
    if (!this.accepting) return Promise.reject(new BreakerOpenError(this.#name));
    const trial = this.#state === 'half-open';
    const result = this.#breaker.fire(work) as Promise<T>;
    if (trial) this.#events.onChange('half-open', false);
    return result;
  }

  /** Stops opossum's timers (the reset timer and the rolling window). */
  shutdown(): void {
    clearTimeout(this.#holdTimer);
    this.#breaker.shutdown();
  }

  #set(state: BreakerState, accepting: boolean): void {
    this.#state = state;
    this.#events.onChange(state, accepting);
  }
}
