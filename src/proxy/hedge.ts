/**
 * Hedged requests for manifests and HEADs (issue 12; Spegel races its mirrors the same way):
 * when the first upstream has not answered within `failover.hedge.after`, the same request goes
 * to a second one, and the first complete answer wins. The loser is aborted, and an aborted
 * attempt is the starter giving up, not the upstream failing: it is not counted against its
 * breaker. A frozen mirror then costs a manifest `after`, not `timeouts.headers`.
 *
 * Each run writes into a sink of its own (a manifest is held whole before it is passed on
 * anyway: manifest-check.ts), and only the winner's answer reaches the starter's sink. Blobs are
 * not hedged: a second copy of a big body is a second download.
 */
import { MAX_MANIFEST_BYTES } from '../registry/media-types.js';
import { StartersAbort, type FetchSignal } from '../stream/abort.js';
import { CollectingSink } from '../stream/discard-sink.js';
import type { Sink } from '../stream/sink.js';
import { fetchFromUpstreams, type FetchDeps, type FetchRequest, type UpstreamChoice } from './fetch-from-upstreams.js';
import type { FetchResult } from './fetch-result.js';

/** One of the two racing fetches. */
class HedgeRun {
  readonly abort = new StartersAbort();
  readonly collected = new CollectingSink(MAX_MANIFEST_BYTES);
  /**
   * Every upstream this run has picked. The second run avoids all of them, not only the one the
   * first is waiting on: by the time it starts, the first may have failed over from a frozen
   * mirror to a slow one, and the frozen one must not be asked again.
   */
  readonly picked = new Set<string>();
  readonly done: Promise<FetchResult>;

  constructor(request: FetchRequest, wrap: (sink: Sink) => Sink, deps: FetchDeps, avoid: ReadonlySet<string>) {
    const group = deps.group;
    const choice: UpstreamChoice = {
      registry: group.registry,
      authority: group.authority,
      pick: (tried) => {
        const upstream = group.pick(avoid.size === 0 ? tried : new Set([...tried, ...avoid]));
        if (upstream !== undefined) this.picked.add(upstream.name);
        return upstream;
      },
    };
    this.done = fetchFromUpstreams(request, wrap(this.collected), { ...deps, group: choice }, this.abort);
  }

  /** Writes this run's answer into the starter's sink (a relayed one; others are the starter's to write). */
  async deliver(sink: Sink): Promise<FetchResult> {
    const result = await this.done;
    if (result.kind !== 'relayed') return result;
    const { status, headers, body } = this.collected;
    try {
      sink.start(status, headers);
      if (body.length > 0) sink.write(body);
      sink.end();
    } catch (err) {
      return { kind: 'broken', upstream: result.upstream, bytes: 0, error: err as Error, attempts: result.attempts, failovers: result.failovers };
    }
    return result;
  }
}

/**
 * `wrap` puts the route's policy sink (the manifest check) around each run's own sink, so a bad
 * answer fails over inside its run.
 */
export async function hedgedFetch(request: FetchRequest, wrap: (sink: Sink) => Sink, sink: Sink, deps: FetchDeps, signal: FetchSignal): Promise<FetchResult> {
  const first = new HedgeRun(request, wrap, deps, new Set());
  const runs = [first];
  const abortAll = (): void => runs.forEach((run) => run.abort.abort());
  signal.addEventListener('abort', abortAll);
  try {
    let timer: NodeJS.Timeout | undefined;
    const due = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, deps.failover.hedgeAfterMs, undefined)));
    const early = await Promise.race([first.done, due]);
    clearTimeout(timer);
    if (early !== undefined || signal.aborted) return await first.deliver(sink);
    const second = new HedgeRun(request, wrap, deps, first.picked);
    runs.push(second);
    const winner = await firstRelayed(first, second);
    (winner === first ? second : first).abort.abort();
    deps.metrics.hedge?.(deps.group.registry, winner === second);
    return await winner.deliver(sink);
  } finally {
    signal.removeEventListener('abort', abortAll);
  }
}

/** The first run to relay an answer; the first run when neither does (its 404 or failure is the one to report). */
function firstRelayed(first: HedgeRun, second: HedgeRun): Promise<HedgeRun> {
  return new Promise((resolve) => {
    let pending = 2;
    const settled = (run: HedgeRun) => (result: FetchResult) => {
      if (result.kind === 'relayed') resolve(run);
      else if (--pending === 0) resolve(first);
    };
    void first.done.then(settled(first));
    void second.done.then(settled(second));
  });
}
