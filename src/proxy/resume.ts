/**
 * Resuming a broken blob download at another mirror. A blob is content-addressed (its digest
 * is the sha256 of its bytes), so every mirror's copy is the same bytes and the rest of a
 * download can come from any of them with `Range: bytes=<offset>-<end>` (RFC 9110 §14).
 * Pure helpers; the failover loop decides when to use them.
 */
import { ResumeMismatchError } from '../stream/errors.js';
import { headerValue, type ResponseHeaders, type Sink } from '../stream/sink.js';

/** The byte range of the blob the sink was promised by the headers it received (end inclusive). */
export interface PromisedRange {
  readonly start: number;
  readonly end: number;
}

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

/** From a 200 with Content-Length or a 206 with Content-Range; undefined when not resumable. */
export function promisedRange(status: number, headers: ResponseHeaders): PromisedRange | undefined {
  if (status === 200) {
    const length = Number(headerValue(headers, 'content-length'));
    return Number.isSafeInteger(length) && length > 0 ? { start: 0, end: length - 1 } : undefined;
  }
  if (status === 206) {
    const match = CONTENT_RANGE.exec(headerValue(headers, 'content-range') ?? '');
    return match === null ? undefined : { start: Number(match[1]), end: Number(match[2]) };
  }
  return undefined;
}

/**
 * The sink, continued: its headers went out with the first upstream's answer, so this sink
 * accepts only a 206 for exactly `from`..`end` and appends its body.
 */
export function continuationSink(sink: Sink, from: number, end: number): Sink {
  return {
    start(status, headers) {
      const match = CONTENT_RANGE.exec(headerValue(headers, 'content-range') ?? '');
      if (status !== 206 || match === null || Number(match[1]) !== from || Number(match[2]) !== end) {
        throw new ResumeMismatchError(`expected 206 for bytes ${from}-${end}, got ${status} ${headerValue(headers, 'content-range') ?? ''}`.trim());
      }
      // A body longer than its range would run past what the sink was promised.
      const length = headerValue(headers, 'content-length');
      if (length !== undefined && Number(length) !== end - from + 1) {
        throw new ResumeMismatchError(`206 for bytes ${from}-${end} with Content-Length ${length}`);
      }
    },
    write: (chunk) => sink.write(chunk),
    onceDrain: (resume) => sink.onceDrain(resume),
    end: () => sink.end(),
  };
}

export function rangeHeader(from: number, end: number): string {
  return `bytes=${from}-${end}`;
}
