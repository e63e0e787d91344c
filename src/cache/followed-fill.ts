/**
 * A fill as its followers see it (follow.ts): this worker's own (BlobFill) or another worker's
 * (RemoteFill, peer-fills.ts). Followers read `spoolPath` up to `written`, and the last byte once
 * the state is `committed`.
 */
import type { FetchResult } from '../proxy/fetch-result.js';

export type FillState =
  /** Waiting for the upstream's headers. */
  | 'waiting'
  | 'streaming'
  /** Every byte is in the store, under its digest. */
  | 'committed'
  | 'failed';

export interface FollowedFill {
  readonly digest: string;
  readonly state: FillState;
  /** From the upstream's Content-Length; undefined when it sent none. */
  readonly size: number | undefined;
  /** Bytes in the spool file, readable now. */
  readonly written: number;
  readonly error: Error | undefined;
  /** How the fill's fetch ended, when it is known here (the answer a follower may pass on). */
  readonly outcome: FetchResult | undefined;
  readonly spoolPath: string;
  readonly storedPath: string;
  /** Calls `listener` on every change until the returned function removes it. */
  onChange(listener: () => void): () => void;
}
