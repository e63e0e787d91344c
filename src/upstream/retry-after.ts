/**
 * `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Pure apart from the clock.
 */

/** Used when a 429 does not say how long to stay away. */
export const DEFAULT_RETRY_AFTER_MS = 60_000;
/** A misconfigured upstream must not exile itself for days. */
export const MAX_RETRY_AFTER_MS = 60 * 60_000;

export function retryAfterMs(header: string | string[] | undefined, now: number = Date.now()): number {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (value === undefined || value === '') return DEFAULT_RETRY_AFTER_MS;
  // Date.parse accepts far more than an HTTP-date ("-5" is a year): a date must name a weekday or month.
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : /[A-Za-z]/.test(value) ? Date.parse(value) - now : Number.NaN;
  if (!Number.isFinite(ms)) return DEFAULT_RETRY_AFTER_MS;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}
