/**
 * The sinks of a parallel fill's fetches (parallel-fetch.ts): the first request's, which learns
 * the blob's size or falls back to one stream, and each piece's, which writes at its offsets.
 */
import { contentRange, continuationSink } from '../proxy/resume.js';
import { ResumeMismatchError } from '../stream/errors.js';
import { headerValue, type ResponseHeaders, type Sink } from '../stream/sink.js';
import type { PieceTarget } from './piece-target.js';

/** Bytes handed to the disk but not written yet above which a piece's fetch is paused. */
const PIECE_WRITE_AHEAD = 1024 * 1024;

/**
 * The first piece's sink: a 206 names the blob's size and turns the fill into pieces; a 200 (a
 * mirror that ignores ranges) passes the whole blob through to the fill as a single stream.
 */
export class ProbeSink implements Sink {
  mode: 'waiting' | 'pieces' | 'single' = 'waiting';
  /** Told of the bytes the probe's piece put in the spool. */
  delivered: (bytes: number) => void = () => undefined;
  /** The probe's PieceSink, held to the probe's range. */
  #checked: Sink | undefined;

  constructor(
    private readonly target: PieceTarget & Sink,
    /** The probe's range is bytes 0..probeSize-1. */
    private readonly probeSize: number,
    private readonly sized: (size: number, sink: PieceSink) => void,
  ) {}

  start(status: number, headers: ResponseHeaders): void {
    if (this.mode !== 'waiting') return; // a resumed probe: same piece, same sink
    if (status === 206) return this.#startPieces(headers);
    this.mode = 'single';
    this.target.start(status, headers);
  }

  /**
   * The probe's range is bytes 0..probeSize-1, or the whole blob when that is smaller: the
   * answer must say so in both its Content-Range and its Content-Length, and its body may not
   * run past it (a lying mirror's bytes would land on the next piece's).
   */
  #startPieces(headers: ResponseHeaders): void {
    const size = contentRange(headers)?.size;
    if (size === undefined)
      throw new ResumeMismatchError(`a Range for the first piece was answered with ${headerValue(headers, 'content-range') ?? 'no Content-Range'}`);
    const piece = new PieceSink(this.target, 0);
    const checked = continuationSink(piece, 0, Math.min(this.probeSize, size) - 1, size);
    checked.start(206, headers);
    if (!this.target.startPieces(size)) throw new Error('the fill refused the blob');
    this.mode = 'pieces';
    this.#checked = checked;
    piece.progress = (bytes) => this.delivered(bytes);
    this.sized(size, piece);
  }

  write(chunk: Buffer): boolean {
    return this.#checked?.write(chunk) ?? this.target.write(chunk);
  }

  onceDrain(resume: () => void): void {
    if (this.#checked !== undefined) this.#checked.onceDrain(resume);
    else this.target.onceDrain(resume);
  }

  end(): void {
    if (this.mode === 'single') this.target.end();
  }
}

/**
 * Writes one fetch's body at its offsets, in order and paced by the disk; `progress` is told of
 * bytes in the spool (in order, so they extend the piece's prefix).
 */
export class PieceSink implements Sink {
  progress: (bytes: number) => void = () => undefined;
  #handed = 0;
  #pending = 0;
  #closed = false;
  /** Offset of the last byte to keep (inclusive); what the response carries past it is dropped. */
  #limit = Infinity;
  #onFull: () => void = () => undefined;
  #drain: (() => void) | undefined;
  /** Settles once every write handed over is in the spool (or failed): the writes go one after the other. */
  #tail: Promise<void> = Promise.resolve();
  /** Chunks that came while a write was on its way, and the offset of the first. */
  #batch: Buffer[] = [];
  #batchAt = 0;
  #writing = false;

  constructor(
    private readonly target: PieceTarget,
    private readonly from: number,
  ) {}

  start(): void {}

  /** No more writes: its fetch lost the race for the piece (or was stopped). */
  close(): void {
    this.#closed = true;
  }

  /**
   * Keeps bytes up to offset `end` (inclusive) only, and calls `onFull` once they are all handed
   * to the disk: the first request of a big blob asks for more than its piece keeps.
   */
  limitTo(end: number, onFull: () => void): void {
    this.#limit = end;
    this.#onFull = onFull;
    if (this.from + this.#handed > end) this.#full();
  }

  #full(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onFull();
  }

  /** Bytes handed to the disk so far (in the spool or on their way). */
  get handed(): number {
    return this.#handed;
  }

  /** Resolves once every write handed over is in the spool (or failed). */
  flushed(): Promise<void> {
    return this.#tail;
  }

  write(chunk: Buffer): boolean {
    if (this.#closed) return true;
    const position = this.from + this.#handed;
    const room = this.#limit + 1 - position;
    if (chunk.length >= room) {
      if (room > 0) this.#hand(position, chunk.subarray(0, room));
      this.#full();
      return true;
    }
    return this.#hand(position, chunk);
  }

  #hand(position: number, chunk: Buffer): boolean {
    this.#handed += chunk.length;
    this.#pending += chunk.length;
    if (this.#batch.length === 0) this.#batchAt = position;
    this.#batch.push(chunk);
    if (!this.#writing) this.#writeBatch();
    return this.#pending < PIECE_WRITE_AHEAD;
  }

  /**
   * Writes every chunk that arrived while the previous write was on its way in one write: a
   * response comes in 16–64 KiB chunks, and one write each cost the fill's core more than the
   * network did (a quarter of its CPU in the 96 MiB bench pull, which fell behind its fastest
   * mirror). The bytes are contiguous: one fetch's, in order.
   */
  #writeBatch(): void {
    const chunks = this.#batch;
    this.#batch = [];
    const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    this.#writing = true;
    this.#tail = this.target.writeAt(this.#batchAt, data).then(
      () => {
        this.#pending -= data.length;
        this.progress(data.length);
        if (this.#drain !== undefined && this.#pending < PIECE_WRITE_AHEAD / 2) {
          const drain = this.#drain;
          this.#drain = undefined;
          drain();
        }
        this.#writing = false;
        if (this.#batch.length === 0) return;
        this.#writeBatch();
        return this.#tail;
      },
      () => undefined, // the fill failed: it aborts every fetch
    );
  }

  onceDrain(resume: () => void): void {
    this.#drain = resume;
  }

  end(): void {}
}
