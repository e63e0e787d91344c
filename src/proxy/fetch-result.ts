/**
 * The one result of a fetch, from the failover loop to whoever started it (the server writes it
 * as the client's answer, a cache fill will commit or discard on it).
 */
import type { CapturedResponse } from '../stream/sink.js';
import type { FailoverRecord } from './failover-reason.js';

export type FetchResult = FetchOutcome & {
  /** Upstreams tried. */
  readonly attempts: number;
  readonly failovers: readonly FailoverRecord[];
};

export type FetchOutcome =
  /** An upstream's response went to the sink in full. */
  | { readonly kind: 'relayed'; readonly upstream: string; readonly status: number; readonly bytes: number }
  /**
   * A captured upstream answer, not yet written anywhere: a redirect passed through, or the last
   * 404 when every tried upstream said 404 (with on404).
   */
  | { readonly kind: 'answer'; readonly upstream: string; readonly response: CapturedResponse }
  /** No upstream could answer; nothing went to the sink. */
  | { readonly kind: 'unavailable' }
  /** The response broke after the sink was started; it must not be completed. */
  | { readonly kind: 'broken'; readonly upstream: string; readonly bytes: number; readonly error: Error }
  /** The starter aborted the fetch. */
  | { readonly kind: 'aborted'; readonly upstream: string; readonly bytes: number };
