/**
 * Why a sink refused what it was given. The producer (the upstream relay) needs to know only
 * that the content was refused, why, and how much of it went past the refusing sink, to report
 * the attempt's failure; it never needs the wrapper that refused it.
 */

/**
 * `digest`: the bytes do not match their digest; `range`: a continuation is not the range asked
 * for; `manifest`: an answer to a manifest request is not a manifest (an HTML error page);
 * `blob`: an answer to a blob request is not a blob (an HTML error page).
 */
export type RefusalReason = 'digest' | 'range' | 'manifest' | 'blob';

export class SinkRefusedError extends Error {
  constructor(
    readonly reason: RefusalReason,
    message: string,
    /**
     * Whether the response's start went past the refusing sink (towards a client). When it did
     * not, nothing of the answer left: the attempt failed as if before its headers, and the
     * fetch may move to another upstream.
     */
    readonly passedOn: boolean,
    /** Body bytes the sink was given and kept back (a held-back last chunk): they never left. */
    readonly withheld: number,
  ) {
    super(message);
  }
}

export class DigestMismatchError extends SinkRefusedError {
  readonly code = 'DIGEST_MISMATCH';
  constructor(message: string, passedOn = true, withheld = 0) {
    super('digest', message, passedOn, withheld);
  }
}

export class ResumeMismatchError extends SinkRefusedError {
  readonly code = 'RESUME_MISMATCH';
  /** At its headers nothing passed on; mid-body (a body longer than its range) the refused chunk is withheld. */
  constructor(message: string, passedOn = false, withheld = 0) {
    super('range', message, passedOn, withheld);
  }
}

export class BadManifestError extends SinkRefusedError {
  readonly code = 'BAD_MANIFEST';
  constructor(message: string, withheld = 0) {
    super('manifest', message, false, withheld);
  }
}

export class BadBlobError extends SinkRefusedError {
  readonly code = 'BAD_BLOB';
  constructor(message: string) {
    super('blob', message, false, 0);
  }
}
