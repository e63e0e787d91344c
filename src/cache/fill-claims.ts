/**
 * In the cluster's primary: who fills which blob. The first worker to claim a key owns its fill;
 * a later claimant follows it and is sent the owner's progress until the fill ends. A worker that
 * dies fails the fills it owned for their followers (they relay or cut, as for any failed fill).
 * The primary holds no files and no index: it routes messages (peer-protocol.ts).
 */
import type { FillProgress, PeerMessage } from './peer-protocol.js';

export type WorkerId = number;

interface ClaimState {
  readonly owner: WorkerId;
  readonly followers: Set<WorkerId>;
  progress?: FillProgress;
}

export class FillClaims {
  readonly #claims = new Map<string, ClaimState>();

  constructor(
    private readonly send: (to: WorkerId, message: PeerMessage) => void,
    /** Every live worker, for index changes. */
    private readonly workers: () => Iterable<WorkerId>,
  ) {}

  /** Fills claimed now (tests, and a log line at shutdown). */
  get size(): number {
    return this.#claims.size;
  }

  receive(from: WorkerId, message: PeerMessage): void {
    switch (message.op) {
      case 'claim':
        return this.#claim(from, message.id, message.key);
      case 'progress':
        return this.#progress(from, message);
      case 'stored':
      case 'removed':
        for (const worker of this.workers()) if (worker !== from) this.send(worker, message);
        return;
      case 'claimed':
        return;
    }
  }

  /** A worker exited: its fills failed, and it follows nothing any more. */
  workerGone(worker: WorkerId): void {
    for (const [key, claim] of this.#claims) {
      claim.followers.delete(worker);
      if (claim.owner !== worker) continue;
      this.#claims.delete(key);
      const failed: FillProgress = { op: 'progress', key, written: claim.progress?.written ?? 0, state: 'failed', error: 'the worker that filled it exited' };
      for (const follower of claim.followers) this.send(follower, failed);
    }
  }

  #claim(from: WorkerId, id: number, key: string): void {
    const claim = this.#claims.get(key);
    if (claim === undefined) {
      this.#claims.set(key, { owner: from, followers: new Set() });
      this.send(from, { op: 'claimed', id, key, owner: true });
      return;
    }
    claim.followers.add(from);
    this.send(from, { op: 'claimed', id, key, owner: false, ...(claim.progress === undefined ? {} : { progress: claim.progress }) });
  }

  #progress(from: WorkerId, progress: FillProgress): void {
    const claim = this.#claims.get(progress.key);
    if (claim === undefined || claim.owner !== from) return;
    claim.progress = progress;
    if (progress.state === 'committed' || progress.state === 'failed') this.#claims.delete(progress.key);
    for (const follower of claim.followers) this.send(follower, progress);
  }
}
