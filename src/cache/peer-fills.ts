/**
 * In a `workers: N` worker: the cache's side of sharing one directory with the other workers
 * (peer-protocol.ts). A fill is claimed through the primary before it starts; when another
 * worker owns it, this worker's readers follow that worker's spool file through a RemoteFill,
 * which moves as the owner reports progress. Fills this worker owns report their progress, and
 * the index changes of each worker reach the others.
 */
import type { BlobFill } from './blob-fill.js';
import { FillStatus, type FillState, type FollowedFill } from './followed-fill.js';
import type { FillProgress, IndexChange, PeerMessage } from './peer-protocol.js';

/** How messages reach the primary and come back (process.send / process.on('message') in a worker). */
export interface PeerChannel {
  send(message: PeerMessage): void;
  onMessage(listener: (message: PeerMessage) => void): void;
}

/** What the index does with another worker's changes (BlobStore implements it). */
export interface PeerIndex {
  adopt(digest: string, size: number): void;
  forget(digest: string): void;
}

/** Progress is reported at least every this many bytes… */
const PROGRESS_BYTES = 1024 * 1024;
/** …and otherwise at most this late, so a trickling fill still moves its remote readers. */
const PROGRESS_DELAY_MS = 20;

export class PeerFills {
  #nextClaim = 0;
  readonly #answers = new Map<number, (owner: boolean, progress: FillProgress | undefined) => void>();
  readonly #following = new Map<string, RemoteFill>();

  constructor(
    private readonly channel: PeerChannel,
    private readonly index: PeerIndex,
  ) {
    channel.onMessage((message) => this.#receive(message));
  }

  /** 'own' when this worker is to fill `key`; else the other worker's fill, to follow. */
  claim(key: string, digest: string, storedPath: string): Promise<'own' | RemoteFill> {
    const id = this.#nextClaim++;
    return new Promise((resolve) => {
      this.#answers.set(id, (owner, progress) => {
        if (owner) return resolve('own');
        const remote = new RemoteFill(digest, storedPath);
        this.#following.set(key, remote);
        if (progress !== undefined) this.#update(remote, key, progress);
        resolve(remote);
      });
      this.channel.send({ op: 'claim', id, key });
    });
  }

  /** Reports an owned fill's progress to its followers in other workers until it ends. */
  publish(key: string, fill: BlobFill): void {
    let sent = -1;
    let sentState: FillState | undefined;
    let timer: NodeJS.Timeout | undefined;
    const send = (): void => {
      clearTimeout(timer);
      timer = undefined;
      sent = fill.written;
      sentState = fill.state;
      this.channel.send(progressOf(key, fill));
      if (fill.state === 'committed' || fill.state === 'failed') stop();
    };
    const stop = fill.onChange(() => {
      if (fill.state !== sentState || fill.written - sent >= PROGRESS_BYTES) send();
      else timer ??= setTimeout(send, PROGRESS_DELAY_MS);
    });
    send();
  }

  /** Ends an owned claim that never became a fill: found in the store, or the fill could not start. */
  settle(key: string, outcome: { readonly storedPath: string; readonly size: number } | Error): void {
    this.channel.send(
      outcome instanceof Error
        ? { op: 'progress', key, written: 0, state: 'failed', error: outcome.message }
        : { op: 'progress', key, spoolPath: outcome.storedPath, size: outcome.size, written: outcome.size, state: 'committed' },
    );
  }

  /** This worker's index changed: the other workers' follow. */
  indexChanged(change: IndexChange): void {
    this.channel.send(change);
  }

  #receive(message: PeerMessage): void {
    switch (message.op) {
      case 'claimed': {
        const answer = this.#answers.get(message.id);
        this.#answers.delete(message.id);
        return answer?.(message.owner, message.progress);
      }
      case 'progress': {
        const remote = this.#following.get(message.key);
        if (remote !== undefined) this.#update(remote, message.key, message);
        return;
      }
      case 'stored':
        return this.index.adopt(message.digest, message.size);
      case 'removed':
        return this.index.forget(message.digest);
      case 'claim':
        return;
    }
  }

  #update(remote: RemoteFill, key: string, progress: FillProgress): void {
    remote.update(progress);
    if (progress.state === 'committed' || progress.state === 'failed') {
      this.#following.delete(key);
      if (progress.state === 'committed') this.index.adopt(remote.digest, progress.written);
    }
  }
}

function progressOf(key: string, fill: BlobFill): FillProgress {
  return {
    op: 'progress',
    key,
    spoolPath: fill.spoolPath,
    ...(fill.size === undefined ? {} : { size: fill.size }),
    written: fill.written,
    state: fill.state,
    ...(fill.error === undefined ? {} : { error: fill.error.message }),
  };
}

/** Another worker's fill, as its progress messages describe it: followed like a local one. */
export class RemoteFill extends FillStatus implements FollowedFill {
  #spoolPath: string;
  /** A remote fill's upstream answer stays in its worker: a follower whose fill failed relays itself. */
  readonly outcome = undefined;

  constructor(
    readonly digest: string,
    readonly storedPath: string,
  ) {
    super();
    this.#spoolPath = storedPath;
  }

  get spoolPath(): string {
    return this.#spoolPath;
  }

  update(progress: FillProgress): void {
    // Only forward: a late message must not move a finished fill back.
    if (this.state === 'committed' || this.state === 'failed') return;
    if (progress.spoolPath !== undefined) this.#spoolPath = progress.spoolPath;
    const failed = progress.state === 'failed' ? { error: new Error(`fill in another worker failed: ${progress.error ?? 'unknown'}`) } : {};
    this.moved({ state: progress.state, size: progress.size, written: Math.max(this.written, progress.written), ...failed });
  }
}
