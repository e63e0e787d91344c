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

/** What a fill's status moves to: the fields given change, the others stay. */
export interface FillStatusChange {
  readonly state?: FillState;
  readonly size?: number | undefined;
  readonly written?: number;
  readonly error?: Error;
}

/**
 * The status part of a FollowedFill, and telling its followers when it moves: shared by this
 * worker's fills (BlobFill) and another worker's as seen here (RemoteFill).
 */
export class FillStatus {
  #state: FillState = 'waiting';
  #size: number | undefined;
  #written = 0;
  #error: Error | undefined;
  readonly #listeners = new Set<() => void>();

  get state(): FillState {
    return this.#state;
  }

  /** From the upstream's Content-Length; undefined when it sent none. */
  get size(): number | undefined {
    return this.#size;
  }

  /** Bytes in the spool file, readable by followers. */
  get written(): number {
    return this.#written;
  }

  get error(): Error | undefined {
    return this.#error;
  }

  /** Calls `listener` on every change (bytes written, committed, failed) until it is removed. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Moves the status on, then tells every follower. */
  protected moved(change: FillStatusChange): void {
    if (change.state !== undefined) this.#state = change.state;
    if ('size' in change) this.#size = change.size;
    if (change.written !== undefined) this.#written = change.written;
    if (change.error !== undefined) this.#error = change.error;
    for (const listener of this.#listeners) listener();
  }
}
