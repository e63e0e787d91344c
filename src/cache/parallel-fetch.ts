/**
 * A blob fill from several mirrors at once (issue 10). Every mirror holds the same bytes under
 * the same digest, so a big blob can be cut into pieces fetched concurrently with `Range`
 * requests, each from its own mirror (its own token, breaker and pool), written at their
 * offsets into the fill's spool. Followers read the contiguous prefix as it grows; the sha256
 * runs over that prefix, so the commit still waits for a whole-blob digest match.
 *
 * - The first request doubles as the size probe: a `Range: bytes=0-<minSize - 1>` to the mirror
 *   the balancer picks. So a blob no bigger than `minSize` is one request, as without pieces. A
 *   206 names the total; a 200 means that mirror ignores ranges, and the fill goes on
 *   single-stream from it. Of a bigger blob the probe keeps only its first `pieceSize` bytes (it
 *   is stopped there: a 32 MiB first piece on the slowest mirror alone took twice T_min in the
 *   bench), and the rest is cut into `pieceSize` pieces.
 * - Pieces go out in order, each to the mirror with a free slot (`perMirror` in flight each) that
 *   would finish it first by its rate and the bytes it still owes; a piece that a busy, faster
 *   mirror would still finish sooner waits for it, unless a mirror sits idle. Rates are measured
 *   (bytes a mirror delivered ÷ the time it had a fetch open), seeded from the mirror's measured
 *   speed (balancer/mirror-speed.ts) or else from the weights, which are scaled to the measured
 *   mirrors' bytes/s once some are measured. Each piece's fetch fails over and resumes at other
 *   mirrors like any fetch.
 * - When no piece is left to hand out, a mirror with a free slot steals the second part of the
 *   piece that would end last: the owner's fetch is cut where both parts end at the same time by
 *   their rates, and the thief fetches the rest. No byte is fetched twice, so the byte shares
 *   follow the speeds and the tail is not the slowest mirror's.
 * - When nothing is worth stealing, an idle mirror hedges the piece with the longest expected
 *   remaining time: it fetches that piece's rest, and the first to finish wins; the other is
 *   aborted (a stalled owner: its share by rate is then not to be trusted). A hedge downloads
 *   bytes twice, so it is only for a rest of at most one `pieceSize` that the idle mirror would
 *   fetch in under half the time.
 * - A mirror that answers a Range with anything but the 206 asked for gets no more pieces, nor
 *   does one whose 206 headers disagree (a Content-Length that is not its Content-Range's
 *   length, another blob size). A body running past its range is cut there and resumed.
 */
import { StartersAbort, type FetchSignal } from '../stream/abort.js';
import { SinkRefusedError } from '../stream/errors.js';
import type { Sink } from '../stream/sink.js';
import { fetchFromUpstreams, type AttemptableUpstream, type FetchDeps, type UpstreamChoice } from '../proxy/fetch-from-upstreams.js';
import type { FetchResult } from '../proxy/fetch-result.js';
import { continuationSink, rangeHeader } from '../proxy/resume.js';
import { checkBlobAnswer } from '../proxy/blob-answer.js';
import type { FailoverRecord } from '../proxy/failover-reason.js';
import type { ProxiedRoute } from '../registry/route.js';
import type { PieceTarget } from './piece-target.js';
import { PieceSink, ProbeSink } from './piece-sinks.js';

export interface ParallelSettings {
  /** Blobs above this size are fetched in pieces from several mirrors. */
  readonly minSize: number;
  readonly pieceSize: number;
  /** Pieces in flight per mirror: enough to keep its pipe full. */
  readonly perMirror: number;
}

/** A mirror a parallel fill may fetch pieces from. */
export interface FillMirror {
  readonly upstream: AttemptableUpstream;
  /** Its weight as the balancer uses it now: the seed of its rate, relative to the others'. */
  readonly weight: number;
  /** Bytes/s it showed lately (balancer/mirror-speed.ts), once there is enough of it: a better seed than its weight. */
  readonly measuredRate?: number | undefined;
}

/** The registry's mirrors as a parallel fill sees them (proxy/upstream-group.ts implements it). */
export interface MirrorSet extends UpstreamChoice {
  /** The primary upstreams that take requests now. */
  eligible(): readonly FillMirror[];
  /** Takes the mirror out of rotation for `breaker.quarantine`: it is held to have served wrong bytes. */
  quarantine(name: string): void;
}

export interface ParallelFetchDeps extends FetchDeps {
  readonly group: MirrorSet;
}

/** What a parallel fill did, for its log line and metrics. */
export interface PieceStats {
  readonly size: number;
  readonly pieces: number;
  readonly hedged: number;
  /** Pieces split near the end, their second part fetched by another mirror. */
  readonly stolen: number;
  /** Bytes each mirror delivered into the spool (a hedged piece's bytes count for both of its fetches). */
  readonly bytesByMirror: Readonly<Record<string, number>>;
  /** Mirrors dropped from the fill for not serving ranges. */
  readonly dropped: readonly string[];
  /** From the first request to the last byte in the spool. */
  readonly seconds: number;
  /** The whole blob did not match its digest: nothing was stored (see parallel-mismatches.ts). */
  readonly mismatched: boolean;
}

/** A prefix is hashed and shown to followers at least this often. */
const ADVANCE_STEP = 1024 * 1024;
/** A mirror's rate counts as measured from this many delivered bytes on. */
const MEASURED_BYTES = 256 * 1024;
/** What a new request is taken to cost a mirror before its first byte, until measured. */
const DEFAULT_FIRST_BYTE_MS = 50;
/** A steal is worth a request only for at least this many bytes. */
const MIN_STEAL_BYTES = 512 * 1024;
/** A hedge is worth starting only for more than this many bytes left. */
const MIN_HEDGE_BYTES = 256 * 1024;
/** …and only when the idle mirror would fetch the rest this many times faster than its owner. */
const HEDGE_GAIN = 2;

/** Fetches the blob of `route` into `target` (a fill), in pieces when it is big; the result of the whole. */
export function parallelFetch(
  route: ProxiedRoute,
  headers: Record<string, string>,
  target: PieceTarget & Sink,
  deps: ParallelFetchDeps,
  settings: ParallelSettings,
  signal: FetchSignal,
  onDone: (stats: PieceStats) => void = () => undefined,
  /** Pieces from several mirrors did not match: which one lied cannot be told (the caller fills it single-stream next). */
): Promise<FetchResult> {
  return new ParallelFill(route, headers, target, deps, settings, signal, onDone).run();
}

interface Mirror {
  readonly upstream: AttemptableUpstream;
  readonly weight: number;
  /** As the mirror set gave it: its speed before this fill. */
  readonly source: FillMirror;
  inFlight: number;
  /** Milliseconds it had a fetch open (closed spells), and since when the open one runs. */
  busyMs: number;
  busySince: number;
  /** Milliseconds from its latest fetch's start to its first byte: what a new request costs it. */
  firstByteMs: number;
  dropped: boolean;
  /** Bytes it delivered into the spool (a hedged piece's bytes count for both its fetches). */
  bytes: number;
  delivered(bytes: number): void;
}

interface Piece {
  readonly start: number;
  /** Inclusive; moves down when its second part is stolen. */
  end: number;
  /** Every byte is in the spool, and no fetch writes into it any more. */
  done: boolean;
  /** One of its fetches finished: the others are being stopped. */
  won: boolean;
  /** Bytes of the piece in the spool, from `start` on (the first fetch's). */
  received: number;
  readonly fetches: PieceFetch[];
}

interface PieceFetch {
  readonly mirror: Mirror | undefined;
  readonly abort: StartersAbort;
  readonly sink: PieceSink;
  readonly from: number;
  readonly startedAt: number;
  /** Bytes of it in the spool. */
  got: number;
  /** Stopped on purpose once its (shortened) range was in: an abort that is a success. */
  cut: boolean;
}

class ParallelFill {
  readonly #mirrors = new Map<string, Mirror>();
  readonly #pieces: Piece[] = [];
  #queue: Piece[] = [];
  #size = 0;
  #advanced = 0;
  #advancing: Promise<void> = Promise.resolve();
  #hedged = 0;
  #stolen = 0;
  /** The probe's own abort: it is stopped once its piece is in. */
  readonly #probeAbort = new StartersAbort();
  readonly #failovers: FailoverRecord[] = [];
  #attempts = 0;
  #failure: FetchResult | undefined;
  #settle: (() => void) | undefined;
  #probeMirror: Mirror | undefined;
  readonly #startedAt = Date.now();

  constructor(
    private readonly route: ProxiedRoute,
    private readonly headers: Record<string, string>,
    private readonly target: PieceTarget & Sink,
    private readonly deps: ParallelFetchDeps,
    private readonly settings: ParallelSettings,
    private readonly signal: FetchSignal,
    private readonly onDone: (stats: PieceStats) => void,
  ) {
    for (const source of deps.group.eligible()) {
      const mirror: Mirror = {
        upstream: source.upstream,
        weight: source.weight,
        source,
        inFlight: 0,
        busyMs: 0,
        busySince: 0,
        firstByteMs: DEFAULT_FIRST_BYTE_MS,
        dropped: false,
        bytes: 0,
        delivered: (bytes) => (mirror.bytes += bytes),
      };
      this.#mirrors.set(source.upstream.name, mirror);
    }
  }

  async run(): Promise<FetchResult> {
    const startedAt = this.#startedAt;
    const probe = new ProbeSink(this.target, this.settings.minSize, (size, sink) => this.#sized(size, sink, startedAt));
    const first = this.deps.group.pick(new Set());
    const probeMirror = first === undefined ? undefined : this.#mirrors.get(first.name);
    this.#probeMirror = probeMirror;
    if (probeMirror !== undefined) this.#busy(probeMirror, +1);
    const choice = this.#choice(probeMirror, probe);
    probe.delivered = (bytes) => choice.current()?.delivered(bytes);
    const stopProbe = (): void => this.#probeAbort.abort();
    this.signal.addEventListener('abort', stopProbe);
    const result = await fetchFromUpstreams(
      { method: 'GET', route: this.route, headers: { ...this.headers, range: rangeHeader(0, this.settings.minSize - 1) }, resumable: true },
      probe,
      choice.deps,
      this.#probeAbort,
    );
    this.signal.removeEventListener('abort', stopProbe);
    if (probe.mode !== 'pieces') return result; // single stream (a 200), or nothing came
    if (probeMirror !== undefined) this.#busy(probeMirror, -1);
    this.#record(result);
    const head = this.#pieces[0]!;
    await this.#pieceSettled(head, head.fetches[0]!, result);
    this.#dispatch();
    return this.#finish();
  }

  /** The probe learned the size: plan the pieces and start them. Returns how the probe's bytes count. */
  #sized(size: number, sink: PieceSink, startedAt: number): void {
    this.#size = size;
    const { pieceSize, minSize } = this.settings;
    // The probe asked for minSize bytes; of a bigger blob it keeps its first piece only.
    const probeEnd = (size > minSize ? Math.min(pieceSize, minSize) : size) - 1;
    const head: Piece = { start: 0, end: probeEnd, done: false, won: false, received: 0, fetches: [] };
    const fetch: PieceFetch = { mirror: this.#probeMirror, abort: this.#probeAbort, sink, from: 0, startedAt, got: 0, cut: false };
    head.fetches.push(fetch);
    const delivered = sink.progress;
    sink.progress = (bytes) => {
      delivered(bytes);
      fetch.got += bytes;
      head.received += bytes;
      this.#advance(false);
    };
    this.#limit(head, fetch);
    this.#pieces.push(head);
    for (let start = probeEnd + 1; start < size; start += pieceSize) this.#queue.push(this.#newPiece(start, Math.min(start + pieceSize, size) - 1));
    this.#dispatch();
  }

  #newPiece(start: number, end: number): Piece {
    const piece: Piece = { start, end, done: false, won: false, received: 0, fetches: [] };
    this.#pieces.push(piece);
    return piece;
  }

  /** Waits until every piece is in, then hashes the rest and checks the digest. */
  async #finish(): Promise<FetchResult> {
    while (this.#failure === undefined && !this.#pieces.every((piece) => piece.done)) {
      await new Promise<void>((resolve) => (this.#settle = resolve));
    }
    if (this.#failure !== undefined) return this.#failure;
    try {
      this.#advance(true);
      await this.#advancing;
      this.target.endPieces();
    } catch (err) {
      for (const mirror of this.#mirrors.values()) if (mirror.bytes > 0) this.deps.metrics.failover(this.deps.group.registry, mirror.upstream.name, 'digest');
      this.onDone(this.#stats(true));
      return {
        kind: 'broken',
        upstream: this.#probeMirror?.upstream.name ?? 'none',
        bytes: this.#size,
        error: err as Error,
        attempts: this.#attempts,
        failovers: this.#failovers,
      };
    }
    // A blob that came whole with its first request was no parallel fill: nothing to report.
    if (this.#pieces.length > 1) this.onDone(this.#stats(false));
    return {
      kind: 'relayed',
      upstream: this.#probeMirror?.upstream.name ?? 'none',
      status: 200,
      bytes: this.#size,
      attempts: this.#attempts,
      failovers: this.#failovers,
    };
  }

  #stats(mismatched: boolean): PieceStats {
    const bytesByMirror: Record<string, number> = {};
    for (const [name, mirror] of this.#mirrors) bytesByMirror[name] = mirror.bytes;
    const dropped = [...this.#mirrors.values()].filter((m) => m.dropped && m.bytes === 0).map((m) => m.upstream.name);
    const seconds = (Date.now() - this.#startedAt) / 1000;
    return { size: this.#size, pieces: this.#pieces.length, hedged: this.#hedged, stolen: this.#stolen, bytesByMirror, dropped, seconds, mismatched };
  }

  /** Hands out pieces, each to the mirror that would finish it first; steals or hedges the tail when none is left. */
  #dispatch(): void {
    if (this.#failure !== undefined || this.signal.aborted) return;
    const usable = [...this.#mirrors.values()].filter((m) => !m.dropped);
    while (this.#queue.length > 0) {
      const piece = this.#queue[0]!;
      const bytes = piece.end + 1 - piece.start;
      const finish = (m: Mirror): number => (this.#owed(m) + bytes) / this.#rateOf(m);
      const free = usable.filter((m) => m.inFlight < this.settings.perMirror);
      const best = free.reduce<Mirror | undefined>((a, m) => (a === undefined || finish(m) < finish(a) ? m : a), undefined);
      if (best === undefined) return;
      // A busy mirror that would still finish it sooner gets it when one of its slots frees; but
      // an idle mirror is not left idle for that. The slowest sat out half the fill (10 % of the
      // bytes for a 17 % speed share, the others' tail longer); what it holds at the end is stolen.
      if (best.inFlight > 0 && usable.some((m) => m.inFlight >= this.settings.perMirror && finish(m) < finish(best))) return;
      this.#startPiece(this.#queue.shift()!, best);
    }
    // A blob the probe fetches whole stays one request, as the issue asks of small blobs: a
    // stall there is the timeout's and the failover's to handle, not a reason to split it.
    if (this.#size <= this.settings.minSize) return;
    for (const mirror of usable) while (mirror.inFlight < this.settings.perMirror && this.#steal(mirror));
    for (const mirror of usable) if (mirror.inFlight === 0) this.#hedge(mirror);
  }

  /** Bytes/s of `mirror`: measured in this fill, else before it, else its weight scaled to the measured mirrors' bytes/s per weight. */
  #rateOf(mirror: Mirror): number {
    const measured = (m: Mirror): number | undefined => {
      const ms = m.busyMs + (m.inFlight > 0 ? Date.now() - m.busySince : 0);
      return m.bytes >= MEASURED_BYTES && ms > 0 ? (m.bytes * 1000) / ms : undefined;
    };
    const own = measured(mirror) ?? mirror.source.measuredRate;
    if (own !== undefined) return own;
    let perWeight = 0;
    let n = 0;
    for (const m of this.#mirrors.values()) {
      const rate = measured(m);
      if (rate === undefined || m.weight <= 0) continue;
      perWeight += rate / m.weight;
      n++;
    }
    return Math.max(mirror.weight, 1e-3) * (n > 0 ? perWeight / n : 1);
  }

  /** Bytes of the pieces `mirror` is fetching that are not in yet. */
  #owed(mirror: Mirror): number {
    let owed = 0;
    for (const piece of this.#pieces) {
      if (piece.won) continue;
      for (const f of piece.fetches) if (f.mirror === mirror && !f.abort.aborted) owed += Math.max(0, piece.end + 1 - f.from - f.got);
    }
    return owed;
  }

  /** Seconds until the fetch `f` of `piece` is in, at its mirror's rate shared by the mirror's fetches. */
  #eta(piece: Piece, f: PieceFetch): number {
    const left = Math.max(0, piece.end + 1 - f.from - f.got);
    return f.mirror === undefined ? Infinity : (left * Math.max(1, f.mirror.inFlight)) / this.#rateOf(f.mirror);
  }

  /**
   * `thief` takes the second part of the piece that would be in last: the owner's fetch is cut
   * where both parts end together by their rates. Whether it stole.
   */
  #steal(thief: Mirror): boolean {
    let worst: { piece: Piece; f: PieceFetch; eta: number } | undefined;
    for (const piece of this.#pieces) {
      if (piece.won || piece.fetches.length !== 1) continue;
      const f = piece.fetches[0]!;
      if (f.mirror === undefined || f.mirror === thief || f.abort.aborted) continue;
      const eta = this.#eta(piece, f);
      if (worst === undefined || eta > worst.eta) worst = { piece, f, eta };
    }
    if (worst === undefined) return false;
    const { piece, f } = worst;
    // From what the owner handed to the disk on: no byte is written by both.
    const at = f.from + f.sink.handed;
    const left = piece.end + 1 - at;
    const ownerRate = this.#rateOf(f.mirror!) / Math.max(1, f.mirror!.inFlight);
    const thiefRate = this.#rateOf(thief) / (thief.inFlight + 1);
    // kept / ownerRate = firstByte + (left - kept) / thiefRate: both parts end together.
    const kept = Math.ceil((thief.firstByteMs / 1000 + left / thiefRate) / (1 / ownerRate + 1 / thiefRate));
    if (left - kept < MIN_STEAL_BYTES) return false;
    const stolen: Piece = { start: at + kept, end: piece.end, done: false, won: false, received: 0, fetches: [] };
    piece.end = at + kept - 1;
    this.#pieces.splice(this.#pieces.indexOf(piece) + 1, 0, stolen);
    this.#limit(piece, f);
    this.#stolen++;
    this.#startPiece(stolen, thief);
    return true;
  }

  /** Stops `f` once the bytes up to `piece.end` are in: its request asked for more than the piece keeps. */
  #limit(piece: Piece, f: PieceFetch): void {
    f.sink.limitTo(piece.end, () => {
      f.cut = true;
      f.abort.abort();
    });
  }

  /** Gives `idle` the rest of the piece that would take longest where it is, if `idle` would finish it sooner. */
  #hedge(idle: Mirror): void {
    let worst: { piece: Piece; seconds: number } | undefined;
    for (const piece of this.#pieces) {
      if (piece.won || piece.fetches.length !== 1) continue;
      const f = piece.fetches[0]!;
      const left = piece.end + 1 - (piece.start + piece.received);
      if (f.mirror === undefined || f.mirror === idle || f.abort.aborted || left < MIN_HEDGE_BYTES || left > this.settings.pieceSize) continue;
      const seconds = this.#eta(piece, f);
      if (seconds > HEDGE_GAIN * (left / this.#rateOf(idle)) && (worst === undefined || seconds > worst.seconds)) worst = { piece, seconds };
    }
    if (worst === undefined) return;
    this.#hedged++;
    this.#startPiece(worst.piece, idle, worst.piece.start + worst.piece.received);
  }

  /** One more (+1) or one fewer (-1) fetch open at `mirror`, for its busy time. */
  #busy(mirror: Mirror, delta: 1 | -1): void {
    const now = Date.now();
    if (delta > 0 && mirror.inFlight === 0) mirror.busySince = now;
    mirror.inFlight += delta;
    if (delta < 0 && mirror.inFlight === 0) mirror.busyMs += now - mirror.busySince;
  }

  /** Fetches `piece` from `from` on, `mirror` first (other mirrors if it fails). */
  #startPiece(piece: Piece, mirror: Mirror, from = piece.start): void {
    const abort = new StartersAbort();
    const primary = piece.fetches.length === 0;
    const sink = new PieceSink(this.target, from);
    const checked = continuationSink(sink, from, piece.end, this.#size);
    const choice = this.#choice(mirror, checked);
    // Only the first fetch's bytes move the frontier: a hedge starts further in.
    const fetch: PieceFetch = { mirror, abort, sink, from, startedAt: Date.now(), got: 0, cut: false };
    sink.progress = (bytes) => {
      choice.current()?.delivered(bytes);
      if (fetch.got === 0) mirror.firstByteMs = Date.now() - fetch.startedAt;
      fetch.got += bytes;
      if (!primary) return;
      piece.received += bytes;
      this.#advance(false);
    };
    piece.fetches.push(fetch);
    this.#busy(mirror, +1);
    const stopOnAbort = (): void => abort.abort();
    this.signal.addEventListener('abort', stopOnAbort);
    void fetchFromUpstreams(
      { method: 'GET', route: this.route, headers: { ...this.headers, range: rangeHeader(from, piece.end) }, resumable: true },
      checked,
      choice.deps,
      abort,
    ).then(async (result) => {
      this.signal.removeEventListener('abort', stopOnAbort);
      this.#busy(mirror, -1);
      this.#record(result);
      await this.#pieceSettled(piece, fetch, result);
      this.#dispatch();
    });
  }

  /**
   * One fetch of `piece` ended. The first to relay its whole range wins: the others are stopped,
   * and the piece is done only once every fetch's writes are in (a loser's late write must not
   * land on bytes already hashed).
   */
  async #pieceSettled(piece: Piece, fetch: PieceFetch, fetched: FetchResult): Promise<void> {
    if (piece.won) return; // the other fetch of a hedged piece won
    const result = this.#cutIsRelayed(fetch, fetched);
    if (result.kind !== 'relayed') {
      if (!piece.fetches.some((other) => other !== fetch && !other.abort.aborted)) this.#fail(result);
      return;
    }
    piece.won = true;
    for (const other of piece.fetches) {
      other.abort.abort();
      other.sink.close();
    }
    await Promise.all(piece.fetches.map((other) => other.sink.flushed()));
    piece.done = true;
    piece.received = piece.end + 1 - piece.start;
    this.#advance(true);
    this.#settle?.();
  }

  /** A fetch stopped on purpose once its range was in (a probe, a piece stolen from) succeeded. */
  #cutIsRelayed(fetch: PieceFetch, result: FetchResult): FetchResult {
    if (!fetch.cut || result.kind !== 'aborted' || this.signal.aborted) return result;
    return { kind: 'relayed', upstream: result.upstream, status: 206, bytes: fetch.got, attempts: result.attempts, failovers: result.failovers };
  }

  /** Hashes the contiguous prefix and shows it to followers (at least every ADVANCE_STEP, and when a piece completes). */
  #advance(force: boolean): void {
    let frontier = 0;
    for (const piece of this.#pieces) {
      if (!piece.done) {
        frontier = piece.start + piece.received;
        break;
      }
      frontier = piece.end + 1;
    }
    if (frontier <= this.#advanced || (!force && frontier - this.#advanced < ADVANCE_STEP)) return;
    this.#advanced = frontier;
    this.#advancing = this.#advancing.then(() => this.target.contiguous(frontier));
    this.#advancing.catch((err: unknown) =>
      this.#fail({ kind: 'broken', upstream: 'cache', bytes: this.#advanced, error: err as Error, attempts: this.#attempts, failovers: this.#failovers }),
    );
  }

  #fail(result: FetchResult): FetchResult {
    this.#failure ??= result;
    for (const piece of this.#pieces) for (const fetch of piece.fetches) fetch.abort.abort();
    this.#settle?.();
    return this.#failure;
  }

  #record(result: FetchResult): void {
    this.#attempts += result.attempts;
    this.#failovers.push(...result.failovers);
  }

  /**
   * `first` first, then whatever the balancer offers; `current` is the mirror answering now. A
   * mirror whose answer to a Range is refused is dropped from the fill.
   */
  #choice(first: Mirror | undefined, sink: Sink): { readonly deps: FetchDeps; current(): Mirror | undefined } {
    const group = this.deps.group;
    const mirrors = this.#mirrors;
    const choice: UpstreamChoice = {
      registry: group.registry,
      pick(tried) {
        const next = first !== undefined && !tried.has(first.upstream.name) ? first.upstream : group.pick(tried);
        picked = next === undefined ? undefined : mirrors.get(next.name);
        return next;
      },
    };
    let picked: Mirror | undefined;
    const start = sink.start.bind(sink);
    sink.start = (status, headers) => {
      try {
        // Judged here too (the fetch also does) so that a web page drops its mirror from the fill.
        checkBlobAnswer(status, headers);
        start(status, headers);
      } catch (err) {
        // Not the 206 asked for, one whose headers disagree (a lying mirror), or a web page: no more pieces from it.
        if (picked !== undefined && (status !== 206 || err instanceof SinkRefusedError)) picked.dropped = true;
        throw err;
      }
    };
    return { deps: { ...this.deps, group: choice }, current: () => picked };
  }
}
