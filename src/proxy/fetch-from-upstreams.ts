/**
 * The failover + resume machinery: pick an upstream, attempt it, and on a failure that happened
 * before any byte reached the sink, move to the next upstream the balancer offers — each
 * upstream at most once, at most `maxAttempts` in all. A sized response that breaks mid-body
 * (a blob: same digest, same bytes everywhere) continues at another upstream with a Range
 * request, appended to the same sink.
 *
 * The fetch belongs to whoever starts it: a client request today, a cache fill or a prefetch
 * next. It writes into their Sink (which paces it) and stops when their abort signal fires. It
 * never writes error answers itself: it reports what happened in one FetchResult.
 */
import type { FetchSignal } from '../stream/abort.js';
import type { FailoverConfig } from '../config/types.js';
import type { Sink } from '../stream/sink.js';
import { BreakerOpenError } from '../upstream/breaker.js';
import { UpstreamAttemptError, isFaultStatus, type StartedResponse } from '../upstream/errors.js';
import type { AttemptOutcome } from '../upstream/outcome.js';
import type { ProxiedRoute } from '../registry/route.js';
import type { AttemptHooks, AttemptRequest } from '../upstream/upstream.js';
import { declineReason, type FailoverReason, type FailoverRecord } from './failover-reason.js';
import type { FetchResult } from './fetch-result.js';
import { continuationSink, promisedRange, rangeHeader, type PromisedRange } from './resume.js';

export interface FetchRequest {
  readonly method: 'GET' | 'HEAD';
  readonly route: ProxiedRoute;
  /** The client headers that may travel (see registry/headers.ts); never an Authorization. */
  readonly headers: Record<string, string>;
  /** Whether a response that breaks after its headers may be continued elsewhere with a Range. */
  readonly resumable: boolean;
}

/** One upstream as the fetch sees it (the concrete one is upstream/upstream.ts). */
export interface AttemptableUpstream {
  readonly name: string;
  attempt(request: AttemptRequest, sink: Sink, hooks: AttemptHooks): Promise<AttemptOutcome>;
}

/** The upstreams of one registry with their balancer (the concrete one is upstream-group.ts). */
export interface UpstreamChoice {
  readonly registry: string;
  /** The next upstream to try, never one in `tried`; undefined when none is eligible. */
  pick(tried: ReadonlySet<string>): AttemptableUpstream | undefined;
  /** Where the registry's tags are resolved (never picked), if the config names one. */
  readonly authority?: AttemptableUpstream | undefined;
}

/** What the fetch reports as it goes (observability/metrics.ts implements it). */
export interface FetchMetrics {
  upstreamSelected(registry: string, upstream: string): void;
  upstreamHeaders(registry: string, upstream: string, seconds: number): void;
  failover(registry: string, upstream: string, reason: FailoverReason): void;
  /** A hedged request (hedge.ts) ended: `won` when the second upstream's answer was used. */
  hedge?(registry: string, won: boolean): void;
}

export interface FetchDeps {
  readonly group: UpstreamChoice;
  readonly failover: FailoverConfig;
  readonly metrics: FetchMetrics;
}

export function fetchFromUpstreams(request: FetchRequest, sink: Sink, deps: FetchDeps, signal: FetchSignal): Promise<FetchResult> {
  return new FailoverRun(request, sink, deps, signal).run();
}

/** A download that broke after its headers and is being continued with a Range request. */
interface Resumption {
  /** The status the sink was started with. */
  readonly status: number;
  readonly range: PromisedRange;
  /** Body bytes the sink has received so far, from every upstream. */
  readonly relayed: number;
  readonly broken: UpstreamAttemptError;
}

/**
 * One fetch's state. It is also the hooks object of every attempt (one object per request on
 * the hot path instead of a hooks literal and two closures per attempt).
 */
class FailoverRun implements AttemptHooks {
  readonly #tried = new Set<string>();
  readonly #failovers: FailoverRecord[] = [];
  #current = '';
  #lastNotFound: FetchResult | undefined;
  #onlyNotFound = true;
  #resumption: Resumption | undefined;
  #attemptRequest: AttemptRequest;
  #sink: Sink;

  constructor(
    private readonly request: FetchRequest,
    private readonly sink: Sink,
    private readonly deps: FetchDeps,
    private readonly signal: FetchSignal,
  ) {
    this.#attemptRequest = { method: request.method, route: request.route, headers: request.headers, signal };
    this.#sink = sink;
  }

  async run(): Promise<FetchResult> {
    const { group, failover } = this.deps;
    while (this.#tried.size < failover.maxAttempts) {
      const upstream = group.pick(this.#tried);
      if (upstream === undefined) break;
      this.#current = upstream.name;
      this.#tried.add(upstream.name);
      this.deps.metrics.upstreamSelected(group.registry, upstream.name);
      const outcome = await upstream.attempt(this.#attemptRequest, this.#sink, this).then(
        (attempted) => this.#settled(upstream.name, attempted),
        (err: unknown) => this.#failed(upstream.name, err),
      );
      if (outcome !== undefined) return outcome;
    }
    return this.#exhausted();
  }

  /** AttemptHooks: 5xx and 429 always move on; a 404 when on404 says a mirror's miss is not the last word; a continuation must be a 206. */
  declines(status: number): boolean {
    if (this.#resumption !== undefined) return status !== 206;
    return isFaultStatus(status) || (status === 404 && this.deps.failover.on404);
  }

  onHeaders(seconds: number): void {
    this.deps.metrics.upstreamHeaders(this.deps.group.registry, this.#current, seconds);
  }

  /** A finished attempt: the final outcome, or undefined to try the next upstream. */
  #settled(name: string, outcome: AttemptOutcome): FetchResult | undefined {
    const resumption = this.#resumption;
    if (outcome.kind === 'relayed') {
      if (resumption === undefined)
        return { kind: 'relayed', upstream: name, status: outcome.status, bytes: outcome.bytes, attempts: this.#attempts, failovers: this.#failovers };
      return {
        kind: 'relayed',
        upstream: name,
        status: resumption.status,
        bytes: resumption.relayed + outcome.bytes,
        attempts: this.#attempts,
        failovers: this.#failovers,
      };
    }
    if (outcome.kind === 'answer' && resumption === undefined)
      return { kind: 'answer', upstream: name, response: outcome.response, attempts: this.#attempts, failovers: this.#failovers };
    const status = outcome.response.status;
    this.#fellOver(name, declineReason(status), `answered ${status}`);
    if (status === 404)
      this.#lastNotFound = { kind: 'answer', upstream: name, response: outcome.response, attempts: this.#attempts, failovers: this.#failovers };
    else this.#onlyNotFound = false;
    return undefined;
  }

  /** A failed attempt: the final outcome, or undefined to try the next upstream (resuming if it broke mid-body). */
  #failed(name: string, err: unknown): FetchResult | undefined {
    const bytes = (this.#resumption?.relayed ?? 0) + (err instanceof UpstreamAttemptError ? err.bytesRelayed : 0);
    if (this.signal.aborted) return { kind: 'aborted', upstream: name, bytes, attempts: this.#attempts, failovers: this.#failovers };
    this.#onlyNotFound = false;
    if (!(err instanceof UpstreamAttemptError) || !err.afterHeaders) {
      this.#fellOver(name, err instanceof BreakerOpenError ? 'breaker_open' : attemptReason(err), describe(err));
      return undefined;
    }
    // Bytes already sent were wrong: nothing can be appended to them.
    const resumable = err.reason === 'digest' ? undefined : (this.#resumption ?? this.#startResumption(err.started));
    if (resumable === undefined) {
      if (err.reason === 'digest') this.#fellOver(name, 'digest', describe(err));
      return { kind: 'broken', upstream: name, bytes, error: err, attempts: this.#attempts, failovers: this.#failovers };
    }
    const from = resumable.range.start + bytes;
    this.#fellOver(name, attemptReason(err), `${describe(err)}; resuming at byte ${from} elsewhere`);
    this.#resumption = { status: resumable.status, range: resumable.range, relayed: bytes, broken: err };
    this.#attemptRequest = { ...this.#attemptRequest, headers: { ...this.request.headers, range: rangeHeader(from, resumable.range.end) } };
    this.#sink = continuationSink(this.sink, from, resumable.range.end, resumable.range.size);
    return undefined;
  }

  /** Only a resumable request continues elsewhere, and only a sized one. */
  #startResumption(started: StartedResponse | undefined): { status: number; range: PromisedRange } | undefined {
    if (!this.request.resumable || started === undefined) return undefined;
    const range = promisedRange(started.status, started.headers);
    return range === undefined ? undefined : { status: started.status, range };
  }

  #exhausted(): FetchResult {
    const resumption = this.#resumption;
    if (resumption !== undefined)
      return {
        kind: 'broken',
        upstream: this.#current,
        bytes: resumption.relayed,
        error: resumption.broken,
        attempts: this.#attempts,
        failovers: this.#failovers,
      };
    if (this.#onlyNotFound && this.#lastNotFound !== undefined) return { ...this.#lastNotFound, attempts: this.#attempts };
    return { kind: 'unavailable', attempts: this.#attempts, failovers: this.#failovers };
  }

  /**
   * Every result literal carries `attempts` and `failovers` written out by hand: adding them with
   * one `{ ...outcome, attempts, failovers }` was 1.4 % of the gateway's CPU profile under
   * manifest GET load (a megamorphic object clone), more than any other function of mirrorgate's.
   */
  get #attempts(): number {
    return this.#tried.size;
  }

  #fellOver(upstream: string, reason: FailoverReason, detail: string): void {
    this.deps.metrics.failover(this.deps.group.registry, upstream, reason);
    this.#failovers.push({ upstream, reason, detail });
  }
}

/** The error and its cause, e.g. "upstream hub: auth: token service auth.example answered 401". */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.message}${cause}`;
}

function attemptReason(err: unknown): FailoverReason {
  if (err instanceof UpstreamAttemptError && err.reason !== 'aborted') return err.reason;
  return 'reset';
}
