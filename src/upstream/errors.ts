/**
 * How one attempt at an upstream can fail, with the reasons the failover metric uses.
 */
import type { ResponseHeaders } from '../stream/sink.js';
import { SinkRefusedError, type RefusalReason } from '../stream/errors.js';

/**
 * `bad_manifest`: the answer to a manifest request was not a manifest (an HTML page, not JSON,
 * too large); `bad_blob`: the answer to a blob request was an HTML page; `queue`: no
 * connection of the upstream's pool came free within `timeouts.queue`.
 */
export type AttemptFailureReason = 'connect' | 'reset' | 'timeout' | 'auth' | 'redirect' | 'digest' | 'bad_manifest' | 'bad_blob' | 'queue' | 'aborted';

const REFUSAL_REASONS: Record<RefusalReason, AttemptFailureReason> = {
  digest: 'digest',
  manifest: 'bad_manifest',
  blob: 'bad_blob',
  // A continuation that is not the range asked for is reported like a broken connection.
  range: 'reset',
};

/** The status and headers a sink was started with before the attempt broke. */
export interface StartedResponse {
  readonly status: number;
  readonly headers: ResponseHeaders;
}

export class UpstreamAttemptError extends Error {
  readonly code = 'UPSTREAM_ATTEMPT_FAILED';
  constructor(
    readonly upstream: string,
    readonly reason: AttemptFailureReason,
    /** Set when part of the response had already gone to the sink: what the sink was started with. */
    readonly started: StartedResponse | undefined,
    /** Body bytes written to the sink before the failure. */
    readonly bytesRelayed: number,
    options?: { cause?: unknown },
  ) {
    super(`upstream ${upstream}: ${reason}${started === undefined ? '' : ' after response headers'}`, options);
  }

  get afterHeaders(): boolean {
    return this.started !== undefined;
  }
}

/** Why an upstream request was cancelled when whoever started the fetch gave up: not the upstream's fault. */
export class FetchAbortedError extends Error {
  readonly code = 'ABORT_ERR';
  constructor() {
    super('the fetch was aborted by its starter');
  }
}

/** A request waited longer than `timeouts.queue` for a connection of the upstream's pool. */
export class QueueTimeoutError extends Error {
  readonly code = 'QUEUE_TIMEOUT';
  constructor(ms: number) {
    super(`no connection came free within ${ms} ms`);
  }
}

/** undici and node socket error codes, and sink refusals, → the reason an attempt failed. */
export function failureReason(err: unknown): AttemptFailureReason {
  if (err instanceof SinkRefusedError) return REFUSAL_REASONS[err.reason];
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
    case 'EINTERNALADDRESS':
      return 'redirect';
    case 'QUEUE_TIMEOUT':
      return 'queue';
    case 'UND_ERR_ABORTED':
    case 'ABORT_ERR':
      return 'aborted';
    default:
      return 'reset';
  }
}

/** A status that says "this upstream is in trouble": it counts against the breaker and always fails over. */
export function isFaultStatus(status: number): boolean {
  return status >= 500 || status === 429;
}
