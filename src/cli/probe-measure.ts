/**
 * The measurements of `mirrorgate probe` (issue 10 §3), with no printing: for each upstream of a
 * registry, over N rounds, what a client pulling from where this runs would see —
 * `GET /v2/` latency, the token fetch (when the upstream challenges with Bearer), the time to
 * the first byte of the image's manifest, and the throughput of the first bytes of its largest
 * layer. Every request goes through the gateway's own Upstream (pools, TLS, token service,
 * redirects with the address guard), so what is measured is what the gateway would get.
 *
 * Each round builds a fresh Upstream per mirror: no connection, no token carried over, so every
 * round is a cold client's (a handshake in the /v2/ time, a token fetch in every round). The
 * mirrors are measured one after the other, never at once: they would share this host's link.
 */
import type { RegistryConfig, UpstreamConfig } from '../config/types.js';
import { MANIFEST_ACCEPT, manifestContents, type BlobRef } from '../registry/manifests.js';
import { platformText, selectPlatforms, type Platform } from '../registry/platforms.js';
import type { ProxiedRoute } from '../registry/route.js';
import { StartersAbort, type FetchSignal } from '../stream/abort.js';
import type { ResponseHeaders, Sink } from '../stream/sink.js';
import { UpstreamAttemptError } from '../upstream/errors.js';
import { Upstream, type UpstreamObserver } from '../upstream/upstream.js';

export interface ProbeOptions {
  readonly rounds: number;
  /** Bytes of the layer read per round: a Range of its first `sampleBytes` (or all of a smaller layer). */
  readonly sampleBytes: number;
  /** The platform taken from an index. */
  readonly platform: Platform;
}

/** The image a registry's mirrors are measured on: by tag (or digest), as `warm` names it. */
export interface ProbeImage {
  readonly name: string;
  readonly reference: string;
  /** As shown: `docker.io/library/alpine:latest`. */
  readonly text: string;
}

/** One round at one mirror. Times in milliseconds; a step not reached (or not needed) is absent. */
export interface RoundResult {
  readonly ok: boolean;
  readonly pingMs?: number;
  /** Only when the upstream asked for a Bearer token and one was fetched. */
  readonly tokenMs?: number;
  /** From the manifest request's dispatch to its response headers (the authenticated request's, after a challenge). */
  readonly ttfbMs?: number;
  /** Body bytes of the layer read. */
  readonly bytes: number;
  /** Bytes ÷ the time from the blob's response headers to its last byte read, in MiB/s. */
  readonly mibPerS?: number;
  /** The mirror ignored `Range` (answered 200 with the whole blob): read `sampleBytes`, then cut. */
  readonly noRange?: boolean;
  readonly error?: string;
}

/** One mirror over all its rounds: medians of what the successful rounds measured. */
export interface MirrorProbe {
  readonly registry: string;
  readonly name: string;
  readonly url: string;
  readonly weight: number;
  readonly backup: boolean;
  readonly rounds: readonly RoundResult[];
  /** Successful rounds ÷ rounds. */
  readonly success: number;
  readonly pingMs?: number;
  readonly tokenMs?: number;
  readonly ttfbMs?: number;
  readonly mibPerS?: number;
}

/** The layer the throughput is measured on, as found through the first mirror that could tell. */
export interface ProbeLayer {
  readonly digest: string;
  readonly size: number;
  /** Bytes read per round. */
  readonly sample: number;
  readonly platform?: string;
}

export interface RegistryProbe {
  readonly registry: string;
  readonly image?: ProbeImage;
  readonly layer?: ProbeLayer;
  /** Why there is no layer (no image for this registry, or no mirror could resolve it). */
  readonly layerError?: string;
  readonly mirrors: readonly MirrorProbe[];
}

/** Told as the probe goes (the CLI's progress). */
export interface ProbeEvents {
  roundStarted?(registry: string, mirror: string, round: number): void;
  roundDone?(registry: string, mirror: string, round: number, result: RoundResult): void;
}

const MiB = 1024 * 1024;
const MANIFEST_LIMIT = 4 * 1024 * 1024;
/** A probe's upstreams report to no balancer. */
const NO_STATUS = { onStatus: () => {} };

/** A probe's own Upstream: no active health checks (they would add requests to what is measured). */
function probeUpstream(config: UpstreamConfig, observer?: UpstreamObserver): Upstream {
  return new Upstream({ ...config, health: undefined }, NO_STATUS, observer);
}

/** Probes every upstream of `registry` (its authority, which takes no pulls, is left out). */
export async function probeRegistry(
  registry: RegistryConfig,
  image: ProbeImage | undefined,
  options: ProbeOptions,
  signal: FetchSignal,
  events: ProbeEvents = {},
): Promise<RegistryProbe> {
  const found =
    image === undefined ? { error: 'no image to measure throughput on (give one with --image)' } : await findLayer(registry.upstreams, image, options, signal);
  const layer = 'error' in found ? undefined : found;
  const results = new Map<string, RoundResult[]>(registry.upstreams.map((u) => [u.name, []]));
  for (let round = 1; round <= options.rounds && !signal.aborted; round++) {
    for (const config of registry.upstreams) {
      if (signal.aborted) break;
      events.roundStarted?.(registry.name, config.name, round);
      const result = await probeRound(config, image, layer, signal);
      results.get(config.name)!.push(result);
      events.roundDone?.(registry.name, config.name, round, result);
    }
  }
  return {
    registry: registry.name,
    ...(image === undefined ? {} : { image }),
    ...(layer === undefined ? { layerError: (found as { error: string }).error } : { layer }),
    mirrors: registry.upstreams.map((config) => summarize(registry.name, config, results.get(config.name)!, options.rounds)),
  };
}

function summarize(registry: string, config: UpstreamConfig, rounds: readonly RoundResult[], planned: number): MirrorProbe {
  const good = rounds.filter((r) => r.ok);
  const med = (pick: (r: RoundResult) => number | undefined): number | undefined => median(good.map(pick).filter((v): v is number => v !== undefined));
  const values = { pingMs: med((r) => r.pingMs), tokenMs: med((r) => r.tokenMs), ttfbMs: med((r) => r.ttfbMs), mibPerS: med((r) => r.mibPerS) };
  return {
    registry,
    name: config.name,
    url: config.url,
    weight: config.weight,
    backup: config.backup,
    rounds,
    success: good.length / Math.max(planned, 1),
    ...Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)),
  };
}

export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The image's largest layer for the platform, from the first mirror that serves its manifests. */
async function findLayer(
  upstreams: readonly UpstreamConfig[],
  image: ProbeImage,
  options: ProbeOptions,
  signal: FetchSignal,
): Promise<ProbeLayer | { error: string }> {
  const errors: string[] = [];
  for (const config of upstreams) {
    const upstream = probeUpstream(config);
    try {
      return await largestLayer(upstream, image, options, signal);
    } catch (err) {
      errors.push(`${config.name}: ${describe(err)}`);
    } finally {
      await upstream.destroy();
    }
  }
  return { error: `no mirror resolved ${image.text} (${errors.join('; ')})` };
}

async function largestLayer(upstream: Upstream, image: ProbeImage, options: ProbeOptions, signal: FetchSignal): Promise<ProbeLayer> {
  let manifest = await getManifest(upstream, image.name, image.reference, signal);
  let contents = manifestContents(manifest.body, manifest.contentType);
  let platform: string | undefined;
  if (contents.kind === 'index') {
    const entry = selectPlatforms(contents.manifests, [options.platform]).entries[0];
    if (entry === undefined) throw new Error(`the index has no manifest for ${platformText(options.platform)}`);
    platform = platformText(options.platform);
    manifest = await getManifest(upstream, image.name, entry.digest, signal);
    contents = manifestContents(manifest.body, manifest.contentType);
  }
  if (contents.kind !== 'image') throw new Error(contents.kind === 'invalid' ? contents.reason : 'an index inside an index');
  const layers = contents.blobs.filter((b) => b.kind === 'layer');
  const largest = (layers.length > 0 ? layers : contents.blobs).reduce<BlobRef | undefined>((a, b) => (a === undefined || b.size > a.size ? b : a), undefined);
  if (largest === undefined) throw new Error('the image has no blobs');
  return { digest: largest.digest, size: largest.size, sample: Math.min(largest.size, options.sampleBytes), ...(platform === undefined ? {} : { platform }) };
}

/** One cold client's round at one mirror: /v2/, the manifest by tag (token on the way), the layer's first bytes. */
async function probeRound(config: UpstreamConfig, image: ProbeImage | undefined, layer: ProbeLayer | undefined, signal: FetchSignal): Promise<RoundResult> {
  let tokenMs: number | undefined;
  const upstream = probeUpstream(config, { tokenFetched: (seconds) => void (tokenMs = (tokenMs ?? 0) + seconds * 1000) });
  const result: { -readonly [K in keyof RoundResult]: RoundResult[K] } = { ok: false, bytes: 0 };
  const withToken = (): RoundResult => (tokenMs === undefined ? result : { ...result, tokenMs });
  try {
    let pingSeconds = 0;
    const ping = await upstream.ping(signal, { onHeaders: (s) => void (pingSeconds = s) });
    result.pingMs = pingSeconds * 1000;
    if (ping.status !== 200 && ping.status !== 401) throw new Error(`/v2/ answered ${ping.status}`);
    if (image === undefined) {
      result.ok = true;
      return withToken();
    }
    const manifest = await getManifest(upstream, image.name, image.reference, signal);
    result.ttfbMs = manifest.headersSeconds * 1000;
    if (layer === undefined) {
      result.ok = true;
      return withToken();
    }
    const blob = await readSample(upstream, image.name, layer, signal);
    Object.assign(result, blob);
    result.ok = blob.bytes >= layer.sample;
    if (!result.ok) result.error = `the layer's body ended after ${blob.bytes} of ${layer.sample} bytes`;
    return withToken();
  } catch (err) {
    result.error = describe(err);
    return withToken();
  } finally {
    await upstream.destroy();
  }
}

interface Fetched {
  readonly body: Buffer;
  readonly contentType: string;
  /** The answering request's time from dispatch to response headers. */
  readonly headersSeconds: number;
}

async function getManifest(upstream: Upstream, name: string, reference: string, signal: FetchSignal): Promise<Fetched> {
  const sink = new SampleSink(MANIFEST_LIMIT);
  let headersSeconds = 0;
  const route: ProxiedRoute = { kind: 'manifest', name, reference };
  const outcome = await upstream.attempt({ method: 'GET', route, headers: { accept: MANIFEST_ACCEPT }, signal }, sink, {
    declines: (status) => status !== 200,
    // After a challenge or a redirect the last headers are the answer's.
    onHeaders: (seconds) => void (headersSeconds = seconds),
  });
  if (outcome.kind !== 'relayed') throw new Error(`manifest ${reference}: ${statusText(outcome.response.status, outcome.response.body)}`);
  if (sink.overflow) throw new Error(`manifest ${reference}: larger than ${MANIFEST_LIMIT} bytes`);
  return { body: Buffer.concat(sink.chunks), contentType: headerText(sink.headers['content-type']), headersSeconds };
}

/** The layer's first `layer.sample` bytes, asked for with a Range; a mirror that sends the whole blob is cut there. */
async function readSample(
  upstream: Upstream,
  name: string,
  layer: ProbeLayer,
  outer: FetchSignal,
): Promise<Pick<RoundResult, 'bytes' | 'mibPerS' | 'noRange'>> {
  const stop = new StartersAbort();
  const onOuter = (): void => stop.abort();
  outer.addEventListener('abort', onOuter);
  let headersAt = 0;
  let lastAt = 0;
  const sink = new SampleSink(0, layer.sample, () => {
    lastAt = performance.now();
    stop.abort();
  });
  const route: ProxiedRoute = { kind: 'blob', name, digest: layer.digest };
  try {
    const outcome = await upstream.attempt({ method: 'GET', route, headers: { range: `bytes=0-${layer.sample - 1}` }, signal: stop }, sink, {
      declines: (status) => status !== 200 && status !== 206,
      onHeaders: () => void (headersAt = performance.now()),
    });
    if (outcome.kind !== 'relayed') throw new Error(`blob: ${statusText(outcome.response.status, outcome.response.body)}`);
    lastAt = performance.now();
  } catch (err) {
    // Our own cut once the sample is in is how a read without Range support ends.
    if (!(err instanceof UpstreamAttemptError && err.reason === 'aborted' && sink.bytes >= layer.sample && !outer.aborted)) throw err;
  } finally {
    outer.removeEventListener('abort', onOuter);
  }
  const seconds = Math.max((lastAt - headersAt) / 1000, 1e-6);
  return { bytes: sink.bytes, mibPerS: sink.bytes / MiB / seconds, ...(sink.status === 200 && layer.sample < layer.size ? { noRange: true } : {}) };
}

/** Keeps up to `keep` bytes, counts all, and calls `enough` once `wanted` bytes are in. */
class SampleSink implements Sink {
  status = 0;
  headers: ResponseHeaders = {};
  bytes = 0;
  overflow = false;
  readonly chunks: Buffer[] = [];

  constructor(
    private readonly keep: number,
    private readonly wanted = Number.POSITIVE_INFINITY,
    private readonly enough: () => void = () => {},
  ) {}

  start(status: number, headers: ResponseHeaders): void {
    this.status = status;
    this.headers = headers;
  }

  write(chunk: Buffer): boolean {
    const before = this.bytes;
    this.bytes += chunk.length;
    if (this.bytes <= this.keep) this.chunks.push(chunk);
    else if (this.keep > 0) this.overflow = true;
    if (before < this.wanted && this.bytes >= this.wanted) this.enough();
    return true;
  }

  onceDrain(resume: () => void): void {
    resume();
  }

  end(): void {}
}

const headerText = (value: string | string[] | undefined): string => (Array.isArray(value) ? (value[0] ?? '') : (value ?? ''));

/** `status 404 MANIFEST_UNKNOWN`, from the registry error body when there is one. */
function statusText(status: number, body: Buffer): string {
  try {
    const first = (JSON.parse(body.toString('utf8')) as { errors?: { code?: string }[] }).errors?.[0];
    if (first?.code !== undefined) return `status ${status} ${first.code}`;
  } catch {
    // Not a registry error body: the status says it.
  }
  return `status ${status}`;
}

/** An attempt's failure as one short phrase: its reason and, below it, what undici or the token service said. */
function describe(err: unknown): string {
  if (err instanceof UpstreamAttemptError) {
    const cause = (err.cause as Error | undefined)?.message;
    if (cause === undefined) return err.reason;
    return cause.startsWith(err.reason) ? cause : `${err.reason}: ${cause}`;
  }
  return (err as Error).message;
}
