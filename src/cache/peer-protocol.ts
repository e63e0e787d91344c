/**
 * The messages `workers: N` processes exchange, through the cluster's primary, so that they share
 * one cache directory as one cache: a fill claimed by one worker is followed by the others
 * (one upstream GET per blob for the whole cluster), and every worker's index learns the blobs
 * the others stored or removed. The primary only routes (fill-claims.ts); each worker keeps its
 * own index and fills (peer-fills.ts).
 */

export const PEER_MESSAGE = 'mirrorgate:cache-peer';

/** A worker asks who fills `key` (scope and digest): itself, or the worker that claimed it first. */
export interface Claim {
  readonly op: 'claim';
  readonly id: number;
  readonly key: string;
}

/** The primary's answer to a claim; a follower also gets how far the fill is. */
export interface Claimed {
  readonly op: 'claimed';
  readonly id: number;
  readonly key: string;
  readonly owner: boolean;
  readonly progress?: FillProgress;
}

/** How far a fill is; sent by its owner, forwarded to its followers. */
export interface FillProgress {
  readonly op: 'progress';
  readonly key: string;
  /** Known once the upstream answered: the spool followers read. */
  readonly spoolPath?: string;
  /** From the upstream's Content-Length; absent when it sent none. */
  readonly size?: number;
  /** Bytes in the spool file, readable now. */
  readonly written: number;
  readonly state: 'waiting' | 'streaming' | 'committed' | 'failed';
  readonly error?: string;
}

/** A blob that is now in the store, or no longer: every other worker's index follows. */
export interface IndexChange {
  readonly op: 'stored' | 'removed';
  readonly digest: string;
  readonly size: number;
}

export type PeerMessage = Claim | Claimed | FillProgress | IndexChange;

/** What travels: the message under a type tag, beside the cluster's other messages. */
export interface PeerEnvelope {
  readonly type: typeof PEER_MESSAGE;
  readonly message: PeerMessage;
}

export function isPeerEnvelope(value: unknown): value is PeerEnvelope {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === PEER_MESSAGE;
}
