/**
 * The steps that tell the breaker how the upstream is doing: every attempt is counted in it
 * (a 5xx or 429 answer as a failure, though it is an answer and not an exception; headers later
 * than `slowCall.threshold` as slow), a 429 keeps the upstream out of rotation for its
 * Retry-After, and a digest mismatch quarantines it.
 */
import type { CallClock, UpstreamBreaker } from './breaker.js';
import { UpstreamAttemptError, isFaultStatus } from './errors.js';
import type { Step } from './exchange.js';
import type { AttemptOutcome } from './outcome.js';
import { retryAfterMs } from './retry-after.js';

const isFaultOutcome = (outcome: AttemptOutcome): boolean => outcome.kind === 'declined' && isFaultStatus(outcome.response.status);

type Timing = { onHeaders(seconds: number): void } | undefined;

/**
 * Watches one call's time to headers on its way to the caller's timing hook. Every response of
 * the call is timed (a 401 challenge, the retry with a token, each redirect hop): one slow one
 * makes the call slow. One small object per attempt, the price of knowing.
 */
class SlowCallClock implements CallClock {
  slow = false;
  constructor(
    private readonly thresholdSeconds: number,
    private readonly inner: Timing,
  ) {}

  onHeaders(seconds: number): void {
    if (seconds > this.thresholdSeconds) this.slow = true;
    this.inner?.onHeaders(seconds);
  }
}

export function countInBreaker(breaker: UpstreamBreaker, slowCallMs: number): Step {
  const threshold = slowCallMs / 1000;
  return (next) => (exchange) => {
    const clock = new SlowCallClock(threshold, exchange.relay.timing);
    const timed = { ...exchange, relay: { ...exchange.relay, timing: clock } };
    return breaker.run(() => next(timed), isFaultOutcome, clock);
  };
}

export function holdOnRateLimit(breaker: UpstreamBreaker): Step {
  return (next) => (exchange) =>
    next(exchange).then((outcome) => {
      // A rate limit keeps the upstream out of rotation for as long as it asked (at least).
      if (outcome.kind === 'declined' && outcome.response.status === 429) breaker.holdOpen(retryAfterMs(outcome.response.headers['retry-after']));
      return outcome;
    });
}

/**
 * Bytes that do not match their digest are evidence of a lying mirror (issue 13: one that
 * corrupts only big blobs stays under the breaker's error threshold and keeps getting pulls
 * cut), so one mismatch takes it out of rotation for `ms` (`breaker.quarantine`).
 */
export function quarantineOnDigestMismatch(breaker: UpstreamBreaker, ms: number): Step {
  return (next) => (exchange) =>
    next(exchange).catch((err: unknown) => {
      if (err instanceof UpstreamAttemptError && err.reason === 'digest') breaker.quarantine(ms);
      throw err;
    });
}
