/**
 * An undici dispatch handler that relays one upstream response into a Sink as it arrives.
 *
 * Why a dispatch handler and not `pool.stream()`: stream() is this same handler plus a Writable
 * factory; dispatching directly lets the gateway decide at header time whether to relay or to
 * fail over, count bytes without another stream layer, and apply backpressure with
 * pause()/resume() on the upstream socket — a blob is never buffered beyond one chunk.
 */
import type { FetchSignal } from '../stream/abort.js';
import type { Dispatcher } from 'undici';
import { SinkRefusedError } from '../stream/errors.js';
import type { ResponseHeaders, Sink } from '../stream/sink.js';
import { FetchAbortedError, QueueTimeoutError, UpstreamAttemptError, failureReason, type StartedResponse } from './errors.js';
import type { ConnectionQueue } from './connection-queue.js';
import type { RelayOutcome } from './outcome.js';

/** How one upstream request is relayed: where to, which answers to decline, who may cancel it. */
export interface RelayOptions {
  /** The upstream's name, for errors. */
  readonly upstream: string;
  readonly sink: Sink;
  /** Statuses for which the caller would rather have the response kept whole than relayed. */
  readonly declines: (status: number) => boolean;
  /** Owned by whoever started the fetch: aborting it cancels the upstream request. */
  readonly signal: FetchSignal;
  /** Told the time from dispatch to response headers, and how a relayed body went (called as methods). */
  readonly timing?: RelayTiming;
  /** The upstream's wait for a connection (`timeouts.queue`); absent: no limit (a CDN hop's own). */
  readonly queue?: ConnectionQueue;
}

/** A relayed body, whole: its bytes, the seconds from its headers to its last byte, and how many of those the sink held it paused. */
export interface RelayedBody {
  readonly status: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly pausedSeconds: number;
}

export interface RelayTiming {
  onHeaders(seconds: number): void;
  onBody?(body: RelayedBody): void;
}

/**
 * Error bodies of declined responses are kept (the client may get the last 404 verbatim) up to
 * this size; a larger one is not a registry error body, and its connection is dropped instead.
 */
const MAX_DECLINED_BODY = 64 * 1024;

export class RelayHandler implements Dispatcher.DispatchHandler {
  #controller: Dispatcher.DispatchController | undefined;
  #started: StartedResponse | undefined;
  #bytes = 0;
  #declined: { status: number; headers: ResponseHeaders; chunks: Buffer[]; size: number } | undefined;
  readonly #resume = (): void => {
    this.#pausedMs += performance.now() - this.#pausedAt;
    this.#controller?.resume();
  };
  /** When the headers came, when the sink last paused the body, and for how long in all. */
  #headersAt = 0;
  #pausedAt = 0;
  #pausedMs = 0;
  readonly #onAbort = (): void => this.#controller?.abort(new FetchAbortedError());
  readonly #dispatched = performance.now();
  /** Ends the wait for a connection (when the request got one, failed or gave up). */
  readonly #leaveQueue: (() => void) | undefined;
  #gaveUp = false;

  constructor(
    private readonly options: RelayOptions,
    private readonly resolve: (outcome: RelayOutcome) => void,
    private readonly reject: (err: UpstreamAttemptError) => void,
  ) {
    this.#leaveQueue = options.queue?.wait((ms) => this.#giveUpWaiting(ms));
  }

  /** undici calls this once the request has a connection and is about to be written. */
  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#leaveQueue?.();
    this.#controller = controller;
    const signal = this.options.signal;
    // A request that gave up waiting was already reported; it leaves the queue without a byte sent.
    if (this.#gaveUp || signal.aborted) controller.abort(new FetchAbortedError());
    else signal.addEventListener('abort', this.#onAbort);
  }

  /** The attempt fails now (the fetch moves to the next upstream); undici drops the request when its turn comes. */
  #giveUpWaiting(ms: number): void {
    this.#gaveUp = true;
    this.reject(new UpstreamAttemptError(this.options.upstream, 'queue', undefined, 0, { cause: new QueueTimeoutError(ms) }));
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: ResponseHeaders): void {
    this.#headersAt = performance.now();
    this.options.timing?.onHeaders((this.#headersAt - this.#dispatched) / 1000);
    if (this.options.declines(status)) {
      this.#declined = { status, headers, chunks: [], size: 0 };
      return;
    }
    try {
      this.options.sink.start(status, headers);
    } catch (err) {
      // The sink refuses this answer (a resumed download's range does not fit): nothing was
      // written, so the attempt fails like any other before headers.
      controller.abort(err as Error);
      return;
    }
    this.#started = { status, headers };
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
    let more: boolean;
    try {
      more = this.options.sink.write(chunk);
    } catch (err) {
      // The sink refuses the body (a manifest too large to be one): stop reading it.
      controller.abort(err as Error);
      return;
    }
    if (!more) {
      this.#pausedAt = performance.now();
      controller.pause();
      this.options.sink.onceDrain(this.#resume);
    }
  }

  onResponseEnd(): void {
    this.options.signal.removeEventListener('abort', this.#onAbort);
    const declined = this.#declined;
    if (declined !== undefined) {
      this.resolve({ kind: 'declined', response: { status: declined.status, headers: declined.headers, body: Buffer.concat(declined.chunks) } });
      return;
    }
    try {
      this.options.sink.end();
    } catch (err) {
      // The sink found the whole body unacceptable (a digest mismatch): a failure after headers.
      this.#fail(err as Error);
      return;
    }
    const status = this.#started?.status ?? 0;
    this.options.timing?.onBody?.({ status, bytes: this.#bytes, seconds: (performance.now() - this.#headersAt) / 1000, pausedSeconds: this.#pausedMs / 1000 });
    this.resolve({ kind: 'relayed', status, bytes: this.#bytes });
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    // A request can fail before it ever got a connection (the pool was closed or destroyed).
    this.#leaveQueue?.();
    this.options.signal.removeEventListener('abort', this.#onAbort);
    const declined = this.#declined;
    if (declined !== undefined && declined.size > MAX_DECLINED_BODY) {
      // We dropped the connection ourselves; the status alone is enough to decline.
      this.resolve({ kind: 'declined', response: { status: declined.status, headers: declined.headers, body: Buffer.alloc(0) } });
      return;
    }
    this.#fail(err);
  }

  #fail(err: Error): void {
    // A sink that refused the answer says how much of it went on: a refusal before anything
    // reached the client is a failure before headers (the fetch may fail over), and bytes it
    // held back were never sent.
    // A connection that breaks while the sink still withholds everything (a manifest held whole)
    // is the same: nothing reached the client.
    const refused = err instanceof SinkRefusedError ? err : undefined;
    const unseen = refused?.passedOn === false || this.options.sink.withholding?.() === true;
    const started = unseen ? undefined : this.#started;
    const bytes = unseen ? 0 : this.#bytes - (refused?.withheld ?? 0);
    this.reject(new UpstreamAttemptError(this.options.upstream, failureReason(err), started, bytes, { cause: err }));
  }
}
