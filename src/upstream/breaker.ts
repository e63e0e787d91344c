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

/** A resolved value that counts as a failure, on its way through opossum (5xx and 429 answers: rare, so the stack trace is affordable). */
class FailedValue extends Error {
  constructor(readonly value: unknown) {
    super('a resolved value that counts as a failure');
  }
}

function unwrapFailedValue(err: unknown): unknown {
  if (err instanceof FailedValue) return err.value;
  throw err;
}

const never = (): boolean => false;

/**
 * Runs `work` for opossum, with a synchronous throw turned into a rejection: a throw inside
 * opossum's fire() reopens a half-open breaker before run() has reported the trial, and the
 * state gauge would stay at half-open.
 */
function settle<T>(work: () => Promise<T>, isFailedValue: (value: T) => boolean): Promise<T> {
  let pending: Promise<T>;
  try {
    pending = work();
  } catch (err) {
    return Promise.reject(err);
  }
  return pending.then((value) => (isFailedValue(value) ? Promise.reject(new FailedValue(value)) : value));
}

export interface BreakerEvents {
  /**
   * `accepting` is false while open, and while a half-open breaker's one trial request is in
   * flight: opossum rejects every other call then, so the balancer must not pick the upstream.
   */
  onChange(state: BreakerState, accepting: boolean): void;
  /** A quarantine began (`quarantined`, for `ms`) or ran out; told once each, however often it is extended. */
  onQuarantine(quarantined: boolean, ms: number): void;
}

export class UpstreamBreaker {
  readonly #breaker: CircuitBreaker<[() => Promise<unknown>], unknown>;
  readonly #name: string;
  #state: BreakerState = 'closed';
  /** Until when an upstream that asked us to back off (429 Retry-After) stays out. */
  #heldUntil = 0;
  #holdTimer: NodeJS.Timeout | undefined;
  #quarantineTimer: NodeJS.Timeout | undefined;
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
      errorFilter: (err: unknown) => !(err instanceof FailedValue) && !isFault(err),
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

  get quarantined(): boolean {
    return this.#quarantineTimer !== undefined;
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

  /**
   * Keeps the upstream out for `ms` whatever its error rate (it served bytes that do not match
   * their digest: a lying mirror, not a transient fault), then lets one trial through as after
   * resetTimeout. A second mismatch meanwhile (a download already running) extends it quietly.
   */
  quarantine(ms: number): void {
    if (ms <= 0) return;
    const fresh = this.#quarantineTimer === undefined;
    this.holdOpen(ms);
    clearTimeout(this.#quarantineTimer);
    this.#quarantineTimer = setTimeout(() => {
      this.#quarantineTimer = undefined;
      this.#events.onQuarantine(false, ms);
    }, ms);
    this.#quarantineTimer.unref();
    if (fresh) this.#events.onQuarantine(true, ms);
  }

  /**
   * Runs `work` through the breaker. A rejection counts as a failure when `isFault` says so; a
   * resolved value counts as one when `isFailedValue` says so (an upstream's 5xx is an answer
   * to relay or decline, not an exception), and is still resolved to the caller.
   */
  run<T>(work: () => Promise<T>, isFailedValue: (value: T) => boolean = never): Promise<T> {
    if (!this.accepting) return Promise.reject(new BreakerOpenError(this.#name));
    const trial = this.#state === 'half-open';
    // opossum counts only rejections as failures, so a failed value travels through it as a
    // rejection with this carrier and is unwrapped here.
    const result = this.#breaker.fire(() => settle(work, isFailedValue)) as Promise<T>;
    if (trial) this.#events.onChange('half-open', false);
    return result.catch(unwrapFailedValue) as Promise<T>;
  }

  /** Stops opossum's timers (the reset timer and the rolling window). */
  shutdown(): void {
    clearTimeout(this.#holdTimer);
    clearTimeout(this.#quarantineTimer);
    this.#breaker.shutdown();
  }

  #set(state: BreakerState, accepting: boolean): void {
    this.#state = state;
    this.#events.onChange(state, accepting);
  }
}
