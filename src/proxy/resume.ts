/**
 * Resuming a broken blob download at another mirror. A blob is content-addressed (its digest
 * is the sha256 of its bytes), so every mirror's copy is the same bytes and the rest of a
 * download can come from any of them with `Range: bytes=<offset>-<end>` (RFC 9110 §14).
 * Pure helpers; the failover loop decides when to use them. Every 206 the gateway takes (a
 * continuation, a parallel fill's piece, a client's Range relayed) is held to its own headers
 * here: see `partialContentSink`.
 */
import { ResumeMismatchError } from '../stream/errors.js';
import { headerValue, type ResponseHeaders, type Sink } from '../stream/sink.js';

/** The byte range of the blob the sink was promised by the headers it received (end inclusive). */
export interface PromisedRange {
  readonly start: number;
  readonly end: number;
  /** The whole blob's size when the answer named it (a 200's Content-Length, a 206's `/size`). */
  readonly size?: number | undefined;
}

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

/** A 206's Content-Range, end inclusive; undefined when absent, malformed or impossible (end before start, past the size). */
export function contentRange(headers: ResponseHeaders): PromisedRange | undefined {
  const match = CONTENT_RANGE.exec(headerValue(headers, 'content-range') ?? '');
  if (match === null) return undefined;
  const start = Number(match[1]);
  const end = Number(match[2]);
  const size = match[3] === '*' ? undefined : Number(match[3]);
  if (!Number.isSafeInteger(end) || end < start || (size !== undefined && (!Number.isSafeInteger(size) || end >= size))) return undefined;
  return { start, end, size };
}

/** From a 200 with Content-Length or a 206 with Content-Range; undefined when not resumable. */
export function promisedRange(status: number, headers: ResponseHeaders): PromisedRange | undefined {
  if (status === 200) {
    const length = Number(headerValue(headers, 'content-length'));
    return Number.isSafeInteger(length) && length > 0 ? { start: 0, end: length - 1, size: length } : undefined;
  }
  return status === 206 ? contentRange(headers) : undefined;
}

/** What a 206 must be: exactly this range (and of a blob this size, when known). */
export interface WantedRange {
  readonly start: number;
  readonly end: number;
  readonly size?: number | undefined;
}

/**
 * The range a 206 really covers, or a ResumeMismatchError when its headers cannot be taken at
 * their word: a Content-Range that does not parse, is not the range wanted, or names another
 * size than the blob is known to have; a Content-Length that is not the range's length (RFC
 * 9110 §14.4: a lying mirror, whose bytes are not the ones its Content-Range names).
 */
export function checkPartialContent(headers: ResponseHeaders, want?: WantedRange): PromisedRange {
  const raw = headerValue(headers, 'content-range');
  const range = contentRange(headers);
  const asked = want === undefined ? '' : ` for bytes ${want.start}-${want.end}`;
  if (range === undefined) throw new ResumeMismatchError(`206${asked} with Content-Range ${JSON.stringify(raw ?? '')}`);
  if (want !== undefined && (range.start !== want.start || range.end !== want.end)) throw new ResumeMismatchError(`expected 206${asked}, got ${raw}`);
  if (want?.size !== undefined && range.size !== undefined && range.size !== want.size) {
    throw new ResumeMismatchError(`206${asked} of a ${range.size}-byte blob; it has ${want.size} bytes`);
  }
  const length = headerValue(headers, 'content-length');
  if (length !== undefined && Number(length) !== range.end - range.start + 1) {
    throw new ResumeMismatchError(`206 with Content-Range ${raw} and Content-Length ${length}`);
  }
  return range;
}

/**
 * A sink that takes a 206 only when its headers agree (`checkPartialContent`) and never passes
 * on more body than its Content-Range names (a chunked body has no Content-Length to hold it
 * to): a chunk beyond it is refused, kept back, so the bytes before it can still be continued
 * elsewhere. Other statuses pass through untouched unless `want` is given.
 */
class PartialContentSink implements Sink {
  #left = Number.POSITIVE_INFINITY;

  constructor(
    private readonly sink: Sink,
    private readonly want: WantedRange | undefined,
    /** A continuation: the sink was started by the first answer, so this one's start is not passed on. */
    private readonly continued: boolean,
  ) {}

  start(status: number, headers: ResponseHeaders): void {
    if (status === 206) {
      const range = checkPartialContent(headers, this.want);
      this.#left = range.end - range.start + 1;
    } else if (this.want !== undefined) {
      throw new ResumeMismatchError(`expected 206 for bytes ${this.want.start}-${this.want.end}, got ${status}`);
    }
    if (!this.continued) this.sink.start(status, headers);
  }

  write(chunk: Buffer): boolean {
    if (chunk.length > this.#left) throw new ResumeMismatchError(`206 body runs past its Content-Range`, true, chunk.length);
    this.#left -= chunk.length;
    return this.sink.write(chunk);
  }

  onceDrain(resume: () => void): void {
    this.sink.onceDrain(resume);
  }

  end(): void {
    this.sink.end();
  }

  withholding(): boolean {
    return this.sink.withholding?.() === true;
  }
}

/** `sink`, with any 206 it is given held to its own headers (a client's Range relayed, the first piece of a fill). */
export function partialContentSink(sink: Sink, want?: WantedRange): Sink {
  return new PartialContentSink(sink, want, false);
}

/**
 * The sink, continued: its headers went out with the first upstream's answer, so this sink
 * accepts only a 206 for exactly `from`..`end` (of a blob of `size` bytes, when known) and
 * appends its body.
 */
export function continuationSink(sink: Sink, from: number, end: number, size?: number): Sink {
  return new PartialContentSink(sink, { start: from, end, size }, true);
}

export function rangeHeader(from: number, end: number): string {
  return `bytes=${from}-${end}`;
}
