/**
 * Why a sink refused what it was given. The producer (the upstream relay) needs to know only
 * that the content was refused and why, to report the attempt's failure reason; it never
 * needs the wrapper that refused it.
 */

/** `digest`: the bytes do not match their digest; `range`: a continuation is not the range asked for. */
export type RefusalReason = 'digest' | 'range';

export class SinkRefusedError extends Error {
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message);
  }
}

export class DigestMismatchError extends SinkRefusedError {
  readonly code = 'DIGEST_MISMATCH';
  constructor(message: string) {
    super('digest', message);
  }
}

export class ResumeMismatchError extends SinkRefusedError {
  readonly code = 'RESUME_MISMATCH';
  constructor(message: string) {
    super('range', message);
  }
}
