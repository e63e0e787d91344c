/**
 * Resuming a broken blob download at another mirror. A blob is content-addressed (its digest
 * is the sha256 of its bytes), so every mirror's copy is the same bytes and the rest of a
 * download can come from any of them with `Range: bytes=<offset>-<end>` (RFC 9110 §14).
 * Pure helpers; the proxy loop decides when to use them.
 */
import type { RelayTarget, UpstreamHeaders } from '../upstream/relay-handler.js';

/** The byte range of the blob the client was promised by the headers it received (end inclusive). */
export interface PromisedRange {
  readonly start: number;
  readonly end: number;
}

function header(headers: UpstreamHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

/** From a 200 with Content-Length or a 206 with Content-Range; undefined when not resumable. */
export function promisedRange(status: number, headers: UpstreamHeaders): PromisedRange | undefined {
  if (status === 200) {
    const length = Number(header(headers, 'content-length'));
    return Number.isSafeInteger(length) && length > 0 ? { start: 0, end: length - 1 } : undefined;
  }
  if (status === 206) {
    const match = CONTENT_RANGE.exec(header(headers, 'content-range') ?? '');
    return match === null ? undefined : { start: Number(match[1]), end: Number(match[2]) };
  }
  return undefined;
}

export class ResumeMismatchError extends Error {
  readonly code = 'RESUME_MISMATCH';
}

/**
 * The client response, continued: the headers went out with the first upstream's answer, so
 * this target accepts only a 206 for exactly `from`..`end` and appends its body.
 */
export function continuationTarget(client: RelayTarget, from: number, end: number): RelayTarget {
  return {
    start(status, headers) {
      const match = CONTENT_RANGE.exec(header(headers, 'content-range') ?? '');
      if (status !== 206 || match === null || Number(match[1]) !== from || Number(match[2]) !== end) {
        throw new ResumeMismatchError(`expected 206 for bytes ${from}-${end}, got ${status} ${header(headers, 'content-range') ?? ''}`.trim());
      }
      // A body longer than its range would run past what the client was promised.
      const length = header(headers, 'content-length');
      if (length !== undefined && Number(length) !== end - from + 1) {
        throw new ResumeMismatchError(`206 for bytes ${from}-${end} with Content-Length ${length}`);
      }
    },
    write: (chunk) => client.write(chunk),
    onceDrain: (resume) => client.onceDrain(resume),
    end: () => client.end(),
  };
}

export function rangeHeader(from: number, end: number): string {
  return `bytes=${from}-${end}`;
}
