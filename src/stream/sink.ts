/**
 * Where a fetched response goes. A leaf module: the upstream relay writes into a Sink, the
 * proxy layers wrap one (digest verification, a resumed range), and whoever starts a fetch
 * supplies the innermost one — a client's response today, a cache fill's spool file next.
 * Backpressure comes from the sink: `write` returning false pauses the upstream until the
 * sink calls back through `onceDrain`.
 */

/** Response headers as undici and node:http hand them over. */
export type ResponseHeaders = Record<string, string | string[] | undefined>;

export interface Sink {
  /** The status line and headers; called at most once. Throws a SinkRefusedError to refuse the answer. */
  start(status: number, headers: ResponseHeaders): void;
  /** Returns false when the sink is not keeping up: the producer pauses until `onceDrain` fires. */
  write(chunk: Buffer): boolean;
  onceDrain(resume: () => void): void;
  /** The body is complete. Throws a SinkRefusedError when it must not be completed (a bad digest). */
  end(): void;
  /**
   * True while nothing of the answer has gone on past this sink (a manifest held whole until it
   * proved to be one): an answer that breaks now can still be failed over, as before its headers.
   */
  withholding?(): boolean;
}

/** A whole response kept in memory rather than streamed: an error body, a redirect passed on. */
export interface CapturedResponse {
  readonly status: number;
  readonly headers: ResponseHeaders;
  readonly body: Buffer;
}

/** The first value of a header that may have been sent more than once. */
export function headerValue(headers: ResponseHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
