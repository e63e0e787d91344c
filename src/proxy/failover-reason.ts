/**
 * Why an upstream was left for the next one: the `reason` label of
 * mirrorgate_failovers_total, and the `failovers` field of the request log line.
 */
import type { AttemptFailureReason } from '../upstream/errors.js';

export type FailoverReason = Exclude<AttemptFailureReason, 'aborted'> | '5xx' | 'ratelimit' | 'notfound' | 'breaker_open';

/** Every reason, in the order docs/metrics.md lists them: each upstream's failover counters start at 0 for each. */
const REASONS: Record<FailoverReason, true> = {
  connect: true,
  reset: true,
  timeout: true,
  auth: true,
  redirect: true,
  digest: true,
  bad_manifest: true,
  bad_blob: true,
  queue: true,
  '5xx': true,
  ratelimit: true,
  notfound: true,
  breaker_open: true,
};
export const FAILOVER_REASONS = Object.keys(REASONS) as readonly FailoverReason[];

/** `detail` is safe to log (no secrets, no signed URLs). */
export interface FailoverRecord {
  readonly upstream: string;
  readonly reason: FailoverReason;
  readonly detail: string;
}

/** The reason for an upstream's answer that was declined (its status is one the fetch fails over on). */
export function declineReason(status: number): FailoverReason {
  if (status === 404) return 'notfound';
  if (status === 429) return 'ratelimit';
  return '5xx';
}
