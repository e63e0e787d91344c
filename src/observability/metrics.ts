/**
 * Every Prometheus metric mirrorgate exports, in one registry owned by the app (not prom-client's
 * global one, so tests can run several gateways in one process). No label ever holds a
 * repository, digest or client address: label values are upstream names and small enums.
 */
import client from 'prom-client';
import type { RouteKind } from '../registry/route.js';
import { packageVersion } from './build-info.js';
import { clusterMetricsRenderer } from './cluster-metrics.js';
import { FastHistogram } from './fast-histogram.js';
import { Tally } from './tally.js';

export type BreakerStateValue = 0 | 1 | 2;

/**
 * `registry` is the registry a request was routed to ("docker.io", "ghcr.io"...), or "none"
 * for registry API requests answered before routing (bad requests, `/v2/` pings); `upstream`
 * is "none" when the gateway answered itself. /healthz, /readyz and /metrics are not counted.
 */
export interface Metrics {
  readonly registry: client.Registry;
  readonly contentType: string;
  /** The exposition text: this process's metrics, or the whole cluster's in a worker. */
  render(): Promise<string>;
  requestCompleted(registry: string, upstream: string, method: string, kind: RouteKind | 'other', code: number): void;
  /** A client request's whole time, from its arrival to the end of its answer (or the cut). */
  requestDuration(registry: string, kind: RouteKind | 'other', seconds: number): void;
  upstreamHeaders(registry: string, upstream: string, seconds: number): void;
  responseBytes(registry: string, upstream: string, bytes: number): void;
  upstreamSelected(registry: string, upstream: string): void;
  /** `reason`: one of proxy/failover-reason.ts's reasons. */
  failover(registry: string, upstream: string, reason: string): void;
  breakerState(registry: string, upstream: string, state: BreakerStateValue): void;
  upstreamWeight(registry: string, upstream: string, weight: number): void;
  /** 1 while the upstream is out of rotation after a digest mismatch (`breaker.quarantine`). */
  upstreamQuarantined(registry: string, upstream: string, quarantined: boolean): void;
  /**
   * An upstream in the config in effect: its counters are exported at zero from now on (one
   * series per failover reason in `failoverReasons`), so dashboards and alerts see 0, not a gap.
   */
  upstreamDeclared(registry: string, upstream: string, failoverReasons: readonly string[]): void;
  /** A registry whose tags are resolved at an `authority`: its tag resolution counters start at zero. */
  authorityDeclared(registry: string): void;
  /** 1 while the active health check passes (or with `health: false`), 0 while it says down. */
  upstreamHealthy(registry: string, upstream: string, healthy: boolean): void;
  /** Read at each scrape: every balanced upstream's weight as the balancer uses it now (0 out of rotation, part of it in slow start). */
  watchWeights(read: () => Iterable<EffectiveWeight>): void;
  /** A manifest or HEAD also sent to a second upstream (`fired`), and whether that second answer was the one used (`won`). */
  hedge(registry: string, won: boolean): void;
  /** Drops the series of an upstream that a reload removed. */
  forgetUpstream(registry: string, upstream: string): void;
  inflight(delta: 1 | -1): void;
  configReload(result: 'success' | 'error'): void;
  /**
   * A request the cache answered: `hit`, `miss` (started the fill), `joined` (followed a running fill), `stale` (a tag's last
   * manifest, every upstream failing), `negative` (a tag's remembered 404).
   */
  cacheRequest(result: CacheRequestResult, bytes: number): void;
  /** A fill that ended: `committed` (stored after its digest matched) or `failed`; `bytes` came from upstream. */
  cacheFill(result: 'committed' | 'failed', bytes: number): void;
  cacheEvicted(blobs: number, bytes: number): void;
  /** A fill fetched in pieces ended: the bytes each mirror delivered, and the pieces hedged to a faster one. */
  /** A fill in pieces ended: the bytes each mirror delivered, pieces hedged, and the whole fill's rate (bytes/s). */
  cachePieces(bytesByMirror: Readonly<Record<string, number>>, hedged: number, bytesPerSecond: number): void;
  /** The cache's disk failed (`code`, e.g. ENOSPC) and the cache went relay-only; once per condition. */
  cacheDiskFailure(code: string): void;
  /** A tag resolved at its registry's authority: `resolved` (a digest), `not_found`, or `failed` (resolved at the mirrors instead). */
  tagResolution(registry: string, result: 'resolved' | 'not_found' | 'failed'): void;
  /** Read at each scrape: what the cache holds and is doing. */
  watchCache(state: () => CacheState): void;
  /** One image a prefetch warmed (`ok`) or not (`error`); bytes it fetched from upstreams and found already cached. */
  prefetchImage(result: 'ok' | 'error', fetchedBytes: number, cachedBytes: number): void;
  /** A prefetch run that ended: `success` when every image warmed; `endedAt` in Unix seconds. */
  prefetchRun(result: 'success' | 'error', endedAt: number): void;
  /** A registry request `access:` refused; `reason` is one of access/access-control.ts's DenyReasons. */
  accessDenied(reason: string): void;
  /** A TLS connection accepted on a listener, by the protocol ALPN chose (`h2`, `http/1.1`). */
  tlsConnection(protocol: string): void;
  /** A listener's certificate files read again after a change: `success` (in use now) or `error` (the old one stays). */
  tlsReload(result: 'success' | 'error'): void;
  /** When the certificate a listener (`host:port`) serves now expires, in Unix seconds. */
  tlsCertificateExpiry(listener: string, notAfter: number): void;
}

export interface EffectiveWeight {
  readonly registry: string;
  readonly upstream: string;
  readonly weight: number;
  /** What the upstream's speed measure reads now (its registry's `balance.halfLife`); undefined before the first sample. */
  readonly latencySeconds: number | undefined;
  readonly throughputBytesPerSecond: number | undefined;
}

export type CacheRequestResult = 'hit' | 'miss' | 'joined' | 'stale' | 'negative' | 'bypass';
const CACHE_REQUEST_RESULTS: readonly CacheRequestResult[] = ['hit', 'miss', 'joined', 'stale', 'negative', 'bypass'];
const TAG_RESOLUTION_RESULTS = ['resolved', 'not_found', 'failed'] as const;

/**
 * Client request durations (whole answers, blobs included): from 5 ms to 10 minutes, so that a
 * slow layer download still lands in a bucket below +Inf.
 */
const REQUEST_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/** Exports each label set in `labelSets` at 0 now, so the series exists before its first event. */
function zeroed<L extends string>(counter: client.Counter<L>, labelSets: readonly client.LabelValues<L>[]): void {
  for (const labels of labelSets) counter.inc(labels, 0);
}

export interface CacheState {
  readonly bytes: number;
  readonly maxBytes: number;
  readonly blobs: number;
  readonly fillsInFlight: number;
  /** Misses are relayed, not filled: the disk failed (cache-health.ts). */
  readonly relayOnly: boolean;
}

/** A counter fed from a Tally: the request path adds plain numbers, the scrape folds them in. */
function talliedCounter<L extends string>(registry: client.Registry, name: string, help: string, labelNames: readonly L[]): Tally<L> {
  const tally = new Tally<L>();
  tally.bind(new client.Counter({ name, help, labelNames, registers: [registry], collect: () => tally.flush() }));
  return tally;
}

/** The request-path families: no label hashing per request. */
function trafficFamilies(registry: client.Registry) {
  const requestTally = talliedCounter(
    registry,
    'mirrorgate_requests_total',
    'Client requests answered, by the upstream that answered (none when answered locally)',
    ['registry', 'upstream', 'method', 'kind', 'code'],
  );
  const bytesTally = talliedCounter(registry, 'mirrorgate_response_bytes_total', 'Response body bytes relayed to clients, by upstream', [
    'registry',
    'upstream',
  ]);
  const selectedTally = talliedCounter(registry, 'mirrorgate_upstream_selected_total', 'Attempts sent to each upstream by the balancer', [
    'registry',
    'upstream',
  ]);
  const upstreamDuration = new FastHistogram(
    'mirrorgate_upstream_duration_seconds',
    'Time from sending a request upstream to receiving its response headers',
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  );
  registry.registerMetric(upstreamDuration as unknown as client.Metric);
  const requestDuration = new FastHistogram(
    'mirrorgate_request_duration_seconds',
    "Time from a client request's arrival to the end of its answer, by route kind",
    REQUEST_DURATION_BUCKETS,
  );
  registry.registerMetric(requestDuration as unknown as client.Metric);
  return { requestTally, bytesTally, selectedTally, upstreamDuration, requestDuration };
}

/** A gauge per upstream; across `workers` the cluster reports the largest value. */
function upstreamGauge(registry: client.Registry, name: string, help: string): client.Gauge<'registry' | 'upstream'> {
  return new client.Gauge({ name, help, labelNames: ['registry', 'upstream'] as const, registers: [registry], aggregator: 'max' });
}

/** Per-upstream state: failovers, breaker state, configured weight. */
function upstreamFamilies(registry: client.Registry) {
  const failovers = new client.Counter({
    name: 'mirrorgate_failovers_total',
    help: 'Upstream attempts that failed or were declined (404 with on404), by upstream and reason; the next upstream is tried while maxAttempts allows',
    labelNames: ['registry', 'upstream', 'reason'] as const,
    registers: [registry],
  });
  // Across workers each has its own breaker: the cluster reports the worst (max) state.
  const breaker = upstreamGauge(
    registry,
    'mirrorgate_breaker_state',
    'Circuit breaker state per upstream: 0 closed, 1 half-open, 2 open (with workers: the most open of them)',
  );
  const weight = upstreamGauge(registry, 'mirrorgate_upstream_weight', 'Configured weight per upstream');
  const quarantined = upstreamGauge(
    registry,
    'mirrorgate_upstream_quarantined',
    '1 while the upstream is out of rotation because it served bytes that do not match their digest (breaker.quarantine), else 0',
  );
  const healthy = upstreamGauge(
    registry,
    'mirrorgate_upstream_healthy',
    '1 while the active health check of the upstream passes (always 1 with health: false), 0 while it says the upstream is down',
  );
  const hedges = {
    fired: new client.Counter({
      name: 'mirrorgate_hedges_fired_total',
      help: 'Manifest and HEAD requests also sent to a second upstream because the first had not answered within failover.hedge.after',
      labelNames: ['registry'] as const,
      registers: [registry],
    }),
    won: new client.Counter({
      name: 'mirrorgate_hedges_won_total',
      help: 'Hedged requests answered by the second upstream first (the first was aborted)',
      labelNames: ['registry'] as const,
      registers: [registry],
    }),
  };
  return { failovers, breaker, weight, quarantined, healthy, hedges };
}

/** Health state, effective weights (read from the balancers at each scrape) and hedges: their recording methods. */
function healthMethods(
  registry: client.Registry,
  healthy: client.Gauge<'registry' | 'upstream'>,
  hedges: { readonly fired: client.Counter<'registry'>; readonly won: client.Counter<'registry'> },
): Pick<Metrics, 'upstreamHealthy' | 'watchWeights' | 'hedge'> {
  let read: () => Iterable<EffectiveWeight> = () => [];
  new client.Gauge({
    name: 'mirrorgate_upstream_effective_weight',
    help: 'Weight the balancer gives each upstream now: 0 while out of rotation, a growing part of the configured weight during slow start, with balance.mode adaptive what its measured speed earns it',
    labelNames: ['registry', 'upstream'] as const,
    registers: [registry],
    aggregator: 'max',
    collect() {
      this.reset();
      for (const { registry, upstream, weight } of read()) this.set({ registry, upstream }, weight);
    },
  });
  const measured = (name: string, help: string, value: (w: EffectiveWeight) => number | undefined): void => {
    new client.Gauge({
      name,
      help,
      labelNames: ['registry', 'upstream'] as const,
      registers: [registry],
      aggregator: 'average',
      collect() {
        this.reset();
        for (const w of read()) {
          const v = value(w);
          if (v !== undefined) this.set({ registry: w.registry, upstream: w.upstream }, v);
        }
      },
    });
  };
  measured(
    'mirrorgate_upstream_measured_latency_seconds',
    'Time to response headers of the upstream lately (samples fade with balance.halfLife); what balance.mode adaptive weighs',
    (w) => w.latencySeconds,
  );
  measured(
    'mirrorgate_upstream_measured_throughput_bytes_per_second',
    'Rate of the upstream link lately over its blob bodies and parallel-fill pieces (samples fade with balance.halfLife); what balance.mode adaptive weighs',
    (w) => w.throughputBytesPerSecond,
  );
  return {
    upstreamHealthy: (registry, upstream, value) => healthy.set({ registry, upstream }, value ? 1 : 0),
    watchWeights: (watched) => {
      read = watched;
    },
    hedge: (registry, won) => {
      hedges.fired.inc({ registry });
      if (won) hedges.won.inc({ registry });
    },
  };
}

/** The gateway process: what it is, requests in flight and config reloads. */
function gatewayFamilies(registry: client.Registry, inflightNow: () => number) {
  new client.Gauge({
    name: 'mirrorgate_build_info',
    help: 'Always 1: the mirrorgate version and the Node.js version running it',
    labelNames: ['version', 'node'] as const,
    registers: [registry],
    // With workers, each says 1: the cluster's answer is still 1, not the number of workers.
    aggregator: 'max',
  }).set({ version: packageVersion(), node: process.versions.node }, 1);
  new client.Gauge({
    name: 'mirrorgate_inflight_requests',
    help: 'Client requests being served right now',
    registers: [registry],
    collect() {
      this.set(inflightNow());
    },
  });
  const reloads = new client.Counter({
    name: 'mirrorgate_config_reload_total',
    help: 'Configuration reloads by result',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  zeroed(reloads, [{ result: 'success' }, { result: 'error' }]);
  return { reloads };
}

/** The blob cache: requests and bytes by result, fills, evictions, and what it holds (read at scrape time). */
function cacheFamilies(registry: client.Registry, state: () => CacheState | undefined) {
  const counter = (name: string, help: string, labelNames: readonly string[] = []) => new client.Counter({ name, help, labelNames, registers: [registry] });
  const gauge = (name: string, help: string, read: (s: CacheState) => number) =>
    new client.Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const now = state();
        if (now !== undefined) this.set(read(now));
      },
    });
  gauge('mirrorgate_cache_bytes', 'Bytes the cached blobs take on disk', (s) => s.bytes);
  gauge('mirrorgate_cache_max_bytes', 'The cache size limit (cache.maxSize)', (s) => s.maxBytes);
  gauge('mirrorgate_cache_blobs', 'Blobs in the cache', (s) => s.blobs);
  gauge('mirrorgate_cache_fills_in_flight', 'Blob fills running now (each shared by every reader of its digest)', (s) => s.fillsInFlight);
  gauge('mirrorgate_cache_relay_only', '1 while the cache relays misses because its disk failed (full, EIO, read-only), else 0', (s) => (s.relayOnly ? 1 : 0));
  const families = {
    requests: counter('mirrorgate_cache_requests_total', 'Blob requests answered by the cache, by result (hit, miss, joined, stale, bypass)', ['result']),
    served: counter('mirrorgate_cache_served_bytes_total', 'Blob bytes the cache sent to clients, by result', ['result']),
    fills: counter('mirrorgate_cache_fills_total', 'Blob fills that ended, by result (committed, failed)', ['result']),
    upstreamBytes: counter('mirrorgate_cache_upstream_bytes_total', 'Bytes the fills fetched from upstreams'),
    evictedBlobs: counter('mirrorgate_cache_evicted_blobs_total', 'Blobs evicted (least recently used) to stay under the low watermark'),
    evictedBytes: counter('mirrorgate_cache_evicted_bytes_total', 'Bytes evicted'),
    pieceBytes: counter('mirrorgate_cache_piece_bytes_total', 'Bytes of blobs fetched in pieces, by the mirror (upstream) that delivered them', ['upstream']),
    hedged: counter('mirrorgate_cache_pieces_hedged_total', 'Pieces of a parallel fill fetched again from a faster mirror near the end (first answer wins)'),
    fillRate: new client.Histogram({
      name: 'mirrorgate_cache_parallel_fill_rate_bytes_per_second',
      help: 'Effective rate of each fill fetched in pieces: blob size over the time from its first request to its last byte',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000].map((mib) => mib * 1024 * 1024),
      registers: [registry],
    }),
    diskFailures: counter('mirrorgate_cache_disk_failures_total', 'Times the cache went relay-only because its disk failed, by error code', ['code']),
    tagResolutions: counter('mirrorgate_tag_resolutions_total', "Tags resolved at their registry's authority, by result (resolved, not_found, failed)", [
      'registry',
      'result',
    ]),
  };
  const byResult = CACHE_REQUEST_RESULTS.map((result) => ({ result }));
  zeroed(families.requests, byResult);
  zeroed(families.served, byResult);
  zeroed(families.fills, [{ result: 'committed' }, { result: 'failed' }]);
  return families;
}

/** Prefetch: runs and images by result, bytes by where they came from, the last clean run; and its recording methods. */
function prefetchFamilies(registry: client.Registry): Pick<Metrics, 'prefetchImage' | 'prefetchRun'> {
  const counter = (name: string, help: string, labelNames: readonly string[]) => new client.Counter({ name, help, labelNames, registers: [registry] });
  const prefetch = {
    runs: counter('mirrorgate_prefetch_runs_total', 'Prefetch runs that ended, by result (success: every image warmed; error)', ['result']),
    images: counter('mirrorgate_prefetch_images_total', 'Images a prefetch run warmed, by result (ok, error)', ['result']),
    bytes: counter('mirrorgate_prefetch_bytes_total', 'Blob bytes of prefetched images, by source (upstream: fetched now; cache: already stored)', ['source']),
    lastSuccess: new client.Gauge({
      name: 'mirrorgate_prefetch_last_success_timestamp_seconds',
      help: 'When the last prefetch run in which every image warmed ended (Unix seconds)',
      registers: [registry],
    }),
  };
  zeroed(prefetch.runs, [{ result: 'success' }, { result: 'error' }]);
  zeroed(prefetch.images, [{ result: 'ok' }, { result: 'error' }]);
  zeroed(prefetch.bytes, [{ source: 'upstream' }, { source: 'cache' }]);
  return {
    prefetchImage: (result, fetchedBytes, cachedBytes) => {
      prefetch.images.inc({ result });
      prefetch.bytes.inc({ source: 'upstream' }, fetchedBytes);
      prefetch.bytes.inc({ source: 'cache' }, cachedBytes);
    },
    prefetchRun: (result, endedAt) => {
      prefetch.runs.inc({ result });
      if (result === 'success') prefetch.lastSuccess.set(endedAt);
    },
  };
}

/** The series known once the config is: each upstream's and each authority registry's counters, at zero. */
function declarations(families: {
  bytesTally: Tally<'registry' | 'upstream'>;
  selectedTally: Tally<'registry' | 'upstream'>;
  failovers: client.Counter<'registry' | 'upstream' | 'reason'>;
  pieceBytes: client.Counter<string>;
  tagResolutions: client.Counter<string>;
}): Pick<Metrics, 'upstreamDeclared' | 'authorityDeclared'> {
  return {
    upstreamDeclared: (registry, upstream, failoverReasons) => {
      const labels = () => ({ registry, upstream });
      families.bytesTally.zero(upstream, labels);
      families.selectedTally.zero(upstream, labels);
      zeroed(
        families.failovers,
        failoverReasons.map((reason) => ({ registry, upstream, reason })),
      );
      zeroed(families.pieceBytes, [{ upstream }]);
    },
    authorityDeclared: (registry) =>
      zeroed(
        families.tagResolutions,
        TAG_RESOLUTION_RESULTS.map((result) => ({ registry, result })),
      ),
  };
}

/** Listeners and access: TLS connections by protocol, certificate reloads and expiry, refused requests. */
function edgeFamilies(registry: client.Registry): Pick<Metrics, 'accessDenied' | 'tlsConnection' | 'tlsReload' | 'tlsCertificateExpiry'> {
  const counter = (name: string, help: string, labelNames: readonly string[]) => new client.Counter({ name, help, labelNames, registers: [registry] });
  const denied = counter(
    'mirrorgate_access_denied_total',
    'Registry requests refused by access: (reason: network, no_credentials, bad_credentials, not_allowed, no_rule)',
    ['reason'],
  );
  const connections = counter('mirrorgate_tls_connections_total', 'TLS connections accepted, by the protocol ALPN chose (h2, http/1.1)', ['protocol']);
  const reloads = counter('mirrorgate_tls_reloads_total', 'Listener certificates read again after their files changed, by result (error: the old one stays)', [
    'result',
  ]);
  const expiry = new client.Gauge({
    name: 'mirrorgate_tls_certificate_expiry_timestamp_seconds',
    help: 'When the certificate a TLS listener serves expires (Unix seconds)',
    labelNames: ['listener'] as const,
    registers: [registry],
    aggregator: 'min',
  });
  return {
    accessDenied: (reason) => denied.inc({ reason }),
    tlsConnection: (protocol) => connections.inc({ protocol }),
    tlsReload: (result) => reloads.inc({ result }),
    tlsCertificateExpiry: (listener, notAfter) => expiry.set({ listener }, notAfter),
  };
}

/** `clustered`: this process is one of `workers: N`; /metrics then speaks for all of them. */
export function createMetrics(options: { clustered?: boolean } = {}): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  let inflightNow = 0;
  const { requestTally, bytesTally, selectedTally, upstreamDuration, requestDuration } = trafficFamilies(registry);
  const { failovers, breaker, weight, quarantined, healthy, hedges } = upstreamFamilies(registry);
  const { reloads } = gatewayFamilies(registry, () => inflightNow);
  let cacheState: (() => CacheState) | undefined;
  const cache = cacheFamilies(registry, () => cacheState?.());
  return {
    ...edgeFamilies(registry),
    registry,
    contentType: registry.contentType,
    render: options.clustered === true ? clusterMetricsRenderer(registry) : () => registry.metrics(),
    requestCompleted: (registry, upstream, method, kind, code) =>
      requestTally.add(`${registry} ${upstream} ${method} ${kind} ${code}`, () => ({ registry, upstream, method, kind, code: String(code) })),
    requestDuration: (registry, kind, seconds) => requestDuration.series(`${registry} ${kind}`, () => ({ registry, kind })).observe(seconds),
    upstreamHeaders: (registry, upstream, seconds) => upstreamDuration.series(upstream, () => ({ registry, upstream })).observe(seconds),
    // Upstream names are unique across registries, so the name alone keys these.
    responseBytes: (registry, upstream, n) => bytesTally.add(upstream, () => ({ registry, upstream }), n),
    upstreamSelected: (registry, upstream) => selectedTally.add(upstream, () => ({ registry, upstream })),
    failover: (registry, upstream, reason) => failovers.inc({ registry, upstream, reason }),
    breakerState: (registry, upstream, state) => breaker.set({ registry, upstream }, state),
    upstreamWeight: (registry, upstream, value) => weight.set({ registry, upstream }, value),
    upstreamQuarantined: (registry, upstream, value) => quarantined.set({ registry, upstream }, value ? 1 : 0),
    ...declarations({ bytesTally, selectedTally, failovers, pieceBytes: cache.pieceBytes, tagResolutions: cache.tagResolutions }),
    ...healthMethods(registry, healthy, hedges),
    forgetUpstream: (registry, upstream) => {
      for (const gauge of [breaker, weight, quarantined, healthy]) gauge.remove({ registry, upstream });
      upstreamDuration.remove(upstream);
      const isIt = (labels: { upstream?: string | number }): boolean => labels.upstream === upstream;
      bytesTally.forget(isIt);
      selectedTally.forget(isIt);
    },
    inflight: (delta) => void (inflightNow += delta),
    configReload: (result) => reloads.inc({ result }),
    ...cacheRecorders(cache, (state) => (cacheState = state)),
    ...prefetchFamilies(registry),
  };
}

/** The cache's part of Metrics, recording into its families; `watchCache` is how the gauges learn what the cache holds. */
function cacheRecorders(
  cache: ReturnType<typeof cacheFamilies>,
  watchCache: Metrics['watchCache'],
): Pick<Metrics, 'cacheRequest' | 'cacheFill' | 'cacheEvicted' | 'cachePieces' | 'cacheDiskFailure' | 'tagResolution' | 'watchCache'> {
  return {
    cacheRequest: (result, bytes) => {
      cache.requests.inc({ result });
      cache.served.inc({ result }, bytes);
    },
    cacheFill: (result, bytes) => {
      cache.fills.inc({ result });
      cache.upstreamBytes.inc(bytes);
    },
    cacheEvicted: (blobs, bytes) => {
      cache.evictedBlobs.inc(blobs);
      cache.evictedBytes.inc(bytes);
    },
    cachePieces: (bytesByMirror, hedged, bytesPerSecond) => {
      for (const [upstream, bytes] of Object.entries(bytesByMirror)) cache.pieceBytes.inc({ upstream }, bytes);
      cache.hedged.inc(hedged);
      cache.fillRate.observe(bytesPerSecond);
    },
    cacheDiskFailure: (code) => cache.diskFailures.inc({ code }),
    tagResolution: (registry, result) => cache.tagResolutions.inc({ registry, result }),
    watchCache,
  };
}
