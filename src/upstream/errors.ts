/**
 * How one attempt at an upstream can fail, with the reasons the failover metric uses.
 */

export type AttemptFailureReason = 'connect' | 'reset' | 'timeout' | 'auth' | 'redirect' | 'digest' | 'aborted';

export class UpstreamAttemptError extends Error {
  readonly code = 'UPSTREAM_ATTEMPT_FAILED';
  constructor(
    readonly upstream: string,
    readonly reason: AttemptFailureReason,
    /** True when part of the response had already been relayed to the client. */
    readonly afterHeaders: boolean,
    /** Body bytes relayed to the client before the failure. */
    readonly bytesRelayed: number,
    options?: { cause?: unknown },
  ) {
    super(`upstream ${upstream}: ${reason}${afterHeaders ? ' after response headers' : ''}`, options);
  }
}

/** Why an upstream request was cancelled when its client went away: not the upstream's fault. */
export class ClientGoneError extends Error {
  readonly code = 'ABORT_ERR';
  constructor() {
    super('the client closed the connection');
  }
}

/** undici and node socket error codes → the reason an attempt failed. */
export function failureReason(err: unknown): AttemptFailureReason {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'ETIMEDOUT':
      return 'timeout';
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'CERT_HAS_EXPIRED':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return 'connect';
    case 'DIGEST_MISMATCH':
      return 'digest';
    case 'EINTERNALADDRESS':
      return 'redirect';
    case 'UND_ERR_ABORTED':
    case 'ABORT_ERR':
      return 'aborted';
    default:
      return 'reset';
  }
}

/** A status that says "this upstream is in trouble" (counts against its breaker). */
export function isFaultStatus(status: number): boolean {
  return status >= 500 || status === 429;
}
