/**
 * One blob being fetched into the store while any number of readers follow it (issue 9,
 * "single-flight with live fan-out"). The fill is the Sink of its own fetch: it writes at
 * upstream speed, paced only by the disk, and owns its abort signal, so the first reader
 * hanging up does not stop it. Readers stream the spool file as it grows, each at its own pace,
 * and get the last byte only after the digest matched.
 */
import { DigestMismatchError } from '../stream/errors.js';
import { StartersAbort } from '../stream/abort.js';
import { headerValue, type ResponseHeaders, type Sink } from '../stream/sink.js';
import type { FetchResult } from '../proxy/fetch-result.js';
import type { BlobWriter } from './blob-store.js';
import { DiskFullError } from './cache-health.js';
import type { PieceTarget } from './piece-target.js';
import { FillStatus, type FollowedFill } from './followed-fill.js';

export type { FillState } from './followed-fill.js';

/** Bytes handed to the disk but not written yet above which the fetch is paused. */
const SPOOL_AHEAD = 4 * 1024 * 1024;

export class BlobFill extends FillStatus implements Sink, PieceTarget, FollowedFill {
  /** Aborts the fill's fetch; owned by the cache, not by any reader. */
  readonly abort = new StartersAbort();
  #ahead = 0;
  #resume: (() => void) | undefined;
  /** How the fill's fetch ended (set by the cache), e.g. the 404 every mirror gave. */
  outcome: FetchResult | undefined;
  #discarded: Promise<void> = Promise.resolve();

  constructor(
    private readonly writer: BlobWriter,
    /** Where the blob is once committed. */
    readonly storedPath: string,
    /** Bytes the volume has room for: a bigger blob fails the fill before any reader has headers (they relay). */
    private readonly room = Number.POSITIVE_INFINITY,
  ) {
    super();
  }

  get digest(): string {
    return this.writer.digest;
  }

  /** The file readers follow: the temp file, which keeps its bytes (and open descriptors) when committed. */
  get spoolPath(): string {
    return this.writer.tmpPath;
  }

  start(status: number, headers: ResponseHeaders): void {
    // A continuation (resume at another mirror) arrives as a 206 through continuationSink,
    // which starts nothing: this start is the first and only answer's.
    const length = Number(headerValue(headers, 'content-length'));
    const size = status === 200 && Number.isSafeInteger(length) && length >= 0 ? length : undefined;
    if (size !== undefined && !this.#fits(size)) return;
    this.moved({ state: 'streaming', size });
  }

  write(chunk: Buffer): boolean {
    if (this.state === 'failed') return true;
    if (this.writer.size + chunk.length > this.room) {
      void this.fail(new DiskFullError(`${this.digest.slice(0, 19)}… outgrew the ${this.room} bytes free on the cache volume`));
      return true;
    }
    this.#ahead += chunk.length;
    this.writer.write(chunk).then(
      () => {
        this.#ahead -= chunk.length;
        if (this.#resume !== undefined && this.#ahead < SPOOL_AHEAD / 2) {
          const resume = this.#resume;
          this.#resume = undefined;
          resume();
        }
        this.moved({ written: this.written + chunk.length });
      },
      (err: unknown) => void this.fail(err as Error),
    );
    return this.#ahead < SPOOL_AHEAD;
  }

  onceDrain(resume: () => void): void {
    this.#resume = resume;
  }

  /** Every byte is handed over: a mismatch fails the attempt now, so it counts against the mirror. */
  end(): void {
    if (!this.writer.matches()) throw new DigestMismatchError(`content does not match ${this.digest.slice(0, 19)}…: got ${this.writer.actual.slice(0, 19)}…`);
  }

  startPieces(size: number): boolean {
    if (!this.#fits(size)) return false;
    this.moved({ state: 'streaming', size });
    return true;
  }

  /** Whether a blob of `size` bytes fits on the volume; if not, the fill fails before any reader has headers. */
  #fits(size: number): boolean {
    if (size <= this.room) return true;
    void this.fail(new DiskFullError(`${this.digest.slice(0, 19)}… is ${size} bytes; the cache volume has ${this.room} free`));
    return false;
  }

  writeAt(position: number, chunk: Buffer): Promise<void> {
    if (this.state === 'failed') return Promise.reject(this.error ?? new Error('fill failed'));
    return this.writer.writeAt(position, chunk).catch((err: unknown) => {
      void this.fail(err as Error);
      throw err;
    });
  }

  async contiguous(end: number): Promise<void> {
    await this.writer.hashThrough(end);
    if (this.state !== 'streaming') return;
    this.moved({ written: end });
  }

  endPieces(): void {
    this.end();
  }

  /** After the fetch relayed the whole blob: into the store, then readers may finish. */
  async commit(): Promise<void> {
    try {
      await this.writer.commit();
    } catch (err) {
      this.#setFailed(err as Error);
      throw err;
    }
    // A write that failed meanwhile has failed the fill (and the commit with it); never undo that.
    if (this.state === 'failed') return;
    this.moved({ written: this.writer.size, state: 'committed' });
  }

  /** The fetch failed, or the disk did: the spool goes and every reader is cut. Resolves once the spool is gone. */
  fail(err: Error): Promise<void> {
    if (this.state !== 'failed' && this.state !== 'committed') {
      this.abort.abort();
      this.#setFailed(err);
      this.#discarded = this.writer.abort().catch(() => undefined);
    }
    return this.#discarded;
  }

  #setFailed(err: Error): void {
    this.moved({ error: err, state: 'failed' });
  }
}
