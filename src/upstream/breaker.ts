/**
 * The one place that knows opossum. One breaker per upstream; it decides whether the upstream
 * takes requests and reports every change through the upstream's status (status.ts).
 *
 * Two counts open it: opossum's rolling time window (`volumeThreshold` calls in `window`, a
 * failure share above `errorThresholdPercentage`), and call-window.ts's count of the last calls
 * (failures or slow calls in a row, slow-call and failure shares over the last
 * `volumeThreshold` calls), which works at any request rate: see call-window.ts for why.
 *
 * opossum's own timeout is off (`timeout: false`): it only races a timer against the work and
 * never cancels it, and its shared AbortController would abort every concurrent call. Each
 * attempt owns its timeouts instead (undici's connect/headers/body timers cancel the request).
 * Rolling percentiles and snapshots are off too: they cost work on every failure.
 */
import CircuitBreaker from 'opossum';
import type { BreakerConfig } from '../config/types.js';
import { CallWindow, type CallResult } from './call-window.js';
import type { BreakerState, StatusChange } from './status.js';

export type { BreakerState };

/** What the breaker learns of a call besides its outcome: whether its headers came later than `slowCall.threshold`. */
export interface CallClock {
  readonly slow: boolean;
}

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

/**
 * How the breaker reports: `accepting` is false while open, and while a half-open breaker's one
 * trial request is in flight (opossum rejects every other call then, so the balancer must not
 * pick the upstream).
 */
export type BreakerReport = (change: StatusChange, accepting: boolean) => void;

export class UpstreamBreaker {
  readonly #breaker: CircuitBreaker<[() => Promise<unknown>], unknown>;
  readonly #name: string;
  #state: BreakerState = 'closed';
  /** Until when an upstream that asked us to back off (429 Retry-After) stays out. */
  #heldUntil = 0;
  #holdTimer: NodeJS.Timeout | undefined;
  #quarantineTimer: NodeJS.Timeout | undefined;
  readonly #report: BreakerReport;
  readonly #isFault: (err: unknown) => boolean;
  readonly #calls: CallWindow;

  /** `isFault(err)`: whether an error counts against the upstream (a client hang-up does not). */
  constructor(name: string, config: BreakerConfig, isFault: (err: unknown) => boolean, report: BreakerReport) {
    this.#name = name;
    this.#report = report;
    this.#isFault = isFault;
    this.#calls = new CallWindow(config.volumeThreshold, {
      failureRate: config.errorThresholdPercentage / 100,
      slowRate: config.slowCallRate,
      consecutive: config.consecutiveFailures,
    });
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
    this.#breaker.on('open', () => {
      this.#calls.reset();
      this.#set('open', false);
    });
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
      this.#report({ source: 'quarantine', quarantined: false, ms }, this.accepting);
    }, ms);
    this.#quarantineTimer.unref();
    if (fresh) this.#report({ source: 'quarantine', quarantined: true, ms }, false);
  }

  /**
   * Runs `work` through the breaker. A rejection counts as a failure when `isFault` says so; a
   * resolved value counts as one when `isFailedValue` says so (an upstream's 5xx is an answer
   * to relay or decline, not an exception), and is still resolved to the caller. `call` says
   * whether it was slow: a slow call counts in the call window, and fails a half-open trial.
   */
  run<T>(work: () => Promise<T>, isFailedValue: (value: T) => boolean = never, call?: CallClock): Promise<T> {
    if (!this.accepting) return Promise.reject(new BreakerOpenError(this.#name));
    const trial = this.#state === 'half-open';
    const failed = (value: T): boolean => {
      const bad = isFailedValue(value) || (trial && call?.slow === true);
      this.#count(bad ? 'failed' : call?.slow === true ? 'slow' : 'ok');
      return bad;
    };
    const counted = (): Promise<T> =>
      settle(work, failed).catch((err: unknown) => {
        if (!(err instanceof FailedValue) && this.#isFault(err)) this.#count('failed');
        throw err;
      });
    // opossum counts only rejections as failures, so a failed value travels through it as a
    // rejection with this carrier and is unwrapped here.
    const result = this.#breaker.fire(counted) as Promise<T>;
    if (trial) this.#report({ source: 'breaker', state: 'half-open' }, false);
    return result.catch(unwrapFailedValue) as Promise<T>;
  }

  /** One finished call into the call window, while closed (a trial is opossum's to judge). */
  #count(result: CallResult): void {
    if (this.#breaker.closed && this.#calls.record(result)) this.#breaker.open();
  }

  /** Stops opossum's timers (the reset timer and the rolling window). */
  shutdown(): void {
    clearTimeout(this.#holdTimer);
    clearTimeout(this.#quarantineTimer);
    this.#breaker.shutdown();
  }

  #set(state: BreakerState, accepting: boolean): void {
    this.#state = state;
    this.#report({ source: 'breaker', state }, accepting);
  }
}
