/**
 * An undici dispatch handler that relays one upstream response to the client as it arrives.
 *
 * Why a dispatch handler and not `pool.stream()`: stream() is this same handler plus a Writable
 * factory; dispatching directly lets the gateway decide at header time whether to relay or to
 * fail over, count bytes without another stream layer, and apply backpressure with
 * pause()/resume() on the upstream socket — a blob is never buffered beyond one chunk.
 */
import type { Dispatcher } from 'undici';
import type { ClientLink } from './client-link.js';
import { ClientGoneError, UpstreamAttemptError, failureReason } from './errors.js';

export type UpstreamHeaders = Record<string, string | string[] | undefined>;

/** Where a relayed response goes: the proxy's view of the client response. */
export interface RelayTarget {
  /** Sends the status line and headers to the client; called at most once. Throws to refuse the answer. */
  start(status: number, headers: UpstreamHeaders): void;
  /** Returns false when the client is not keeping up: the upstream is paused until drain. */
  write(chunk: Buffer): boolean;
  onceDrain(resume: () => void): void;
  /** The body is complete. Throws when it must not be completed for the client (bad digest). */
  end(): void;
}

/** How one upstream request is relayed: where to, which answers to decline, whom to cancel for. */
export interface RelayOptions {
  /** The upstream's name, for errors. */
  readonly upstream: string;
  readonly target: RelayTarget;
  /** Statuses for which the proxy would rather try another upstream. */
  readonly declines: (status: number) => boolean;
  readonly client: ClientLink;
  /** Time from dispatch to response headers, in seconds. */
  readonly onHeaders?: (seconds: number) => void;
}

/** A response the gateway did not relay because the proxy wants the next upstream instead. */
export interface DeclinedResponse {
  readonly status: number;
  readonly headers: UpstreamHeaders;
  readonly body: Buffer;
}

export type RelayOutcome =
  | { readonly kind: 'relayed'; readonly status: number; readonly bytes: number }
  | { readonly kind: 'declined'; readonly response: DeclinedResponse };

/**
 * Error bodies of declined responses are kept (the client may get the last 404 verbatim) up to
 * this size; a larger one is not a registry error body, and its connection is dropped instead.
 */
const MAX_DECLINED_BODY = 64 * 1024;

export class RelayHandler implements Dispatcher.DispatchHandler {
  #controller: Dispatcher.DispatchController | undefined;
  #relaying = false;
  #bytes = 0;
  #status = 0;
  #declined: { status: number; headers: UpstreamHeaders; chunks: Buffer[]; size: number } | undefined;
  readonly #resume = (): void => this.#controller?.resume();
  readonly #onAbort = (): void => this.#controller?.abort(new ClientGoneError());

  readonly #started = performance.now();

  constructor(
    private readonly options: RelayOptions,
    private readonly resolve: (outcome: RelayOutcome) => void,
    private readonly reject: (err: UpstreamAttemptError) => void,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.options.client.gone) controller.abort(new ClientGoneError());
    else this.options.client.onGone(this.#onAbort);
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: UpstreamHeaders): void {
    this.options.onHeaders?.((performance.now() - this.#started) / 1000);
    this.#status = status;
    if (this.options.declines(status)) {
      this.#declined = { status, headers, chunks: [], size: 0 };
      return;
    }
    try {
      this.options.target.start(status, headers);
    } catch (err) {
      // The target refuses this answer (a resumed download's range does not fit): nothing was
      // sent, so the attempt fails like any other before headers.
      controller.abort(err as Error);
      return;
    }
    this.#relaying = true;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const declined = this.#declined;
    if (declined !== undefined) {
      declined.size += chunk.length;
      if (declined.size > MAX_DECLINED_BODY) {
        controller.abort(new Error('declined response body too large to keep'));
        return;
      }
      declined.chunks.push(chunk);
      return;
    }
    this.#bytes += chunk.length;
    if (!this.options.target.write(chunk)) {
      controller.pause();
      this.options.target.onceDrain(this.#resume);
    }
  }

  onResponseEnd(): void {
    this.options.client.onGone(undefined);
    const declined = this.#declined;
    if (declined !== undefined) {
      this.resolve({
        kind: 'declined',
        response: { status: declined.status, headers: declined.headers, body: Buffer.concat(declined.chunks) },
      });
      return;
    }
    try {
      this.options.target.end();
    } catch (err) {
      // The target found the whole body unacceptable (a digest mismatch): a failure after headers.
      this.#fail(err as Error, true);
      return;
    }
    this.resolve({ kind: 'relayed', status: this.#status, bytes: this.#bytes });
  }

  onResponseError(controller: Dispatcher.DispatchController, err: Error): void {
    this.options.client.onGone(undefined);
    const declined = this.#declined;
    if (declined !== undefined && declined.size > MAX_DECLINED_BODY) {
      // We dropped the connection ourselves; the status alone is enough to decline.
      this.resolve({ kind: 'declined', response: { status: declined.status, headers: declined.headers, body: Buffer.alloc(0) } });
      return;
    }
    this.#fail(err, this.#relaying);
  }

  #fail(err: Error, afterHeaders: boolean): void {
    this.reject(new UpstreamAttemptError(this.options.upstream, failureReason(err), afterHeaders, this.#bytes, { cause: err }));
  }
}
