/**
 * The ImageSource of a prefetch inside the process that holds the cache (the gateway, or
 * `mirrorgate warm` on its own): manifests through cachedPull, as a client's pull, so the tag
 * and manifests land in memory; blobs through the blob cache, as a client's GET, so a blob
 * already being filled is joined and one that is not becomes a fill (verified, committed on a
 * digest match). Only the bytes go nowhere. A stored blob is counted, not read.
 */
import type { PrefetchImage } from '../config/types.js';
import type { FetchResult } from '../proxy/fetch-result.js';
import { fetchFromUpstreams } from '../proxy/fetch-from-upstreams.js';
import type { PullDeps } from '../proxy/pull.js';
import { MANIFEST_ACCEPT, type BlobRef } from '../registry/manifests.js';
import type { FetchSignal } from '../stream/abort.js';
import { CollectingSink, DiscardSink } from '../stream/discard-sink.js';
import { pacedSink, type TokenBucket } from '../stream/paced-sink.js';
import { headerValue } from '../stream/sink.js';
import type { FillFetch } from './blob-cache.js';
import { cachedPull, type Caches } from './cached-pull.js';
import type { BlobFetched, FetchedManifest, ImageSource } from './prefetch.js';

/** Larger than any manifest (registries refuse above 4 MiB). */
const MANIFEST_LIMIT = 4 * 1024 * 1024;

export interface LocalSourceDeps {
  readonly caches: Caches;
  /** The pull deps of a registry as the gateway has them now; undefined when it is not served (any more). */
  readonly depsFor: (registry: string) => PullDeps | undefined;
  /** The bandwidth cap of this run, shared by its fills. */
  readonly bucket?: TokenBucket;
}

export function localSource({ caches, depsFor, bucket }: LocalSourceDeps): ImageSource {
  const deps = (image: PrefetchImage): PullDeps => {
    const found = depsFor(image.registry);
    if (found === undefined) throw new Error(`registry ${image.registry} is not served`);
    return found;
  };
  return {
    async manifest(image, reference, signal): Promise<FetchedManifest> {
      const sink = new CollectingSink(MANIFEST_LIMIT);
      const request = { method: 'GET' as const, route: { kind: 'manifest' as const, name: image.name, reference }, headers: { accept: MANIFEST_ACCEPT } };
      const result = await cachedPull(caches, request, sink, deps(image), signal);
      if (result.kind !== 'relayed' || result.status !== 200) throw new Error(`manifest ${reference}: ${failure(result)}`);
      if (sink.overflowed) throw new Error(`manifest ${reference}: larger than ${MANIFEST_LIMIT} bytes`);
      return { body: sink.body, contentType: headerValue(sink.headers, 'content-type') ?? '' };
    },
    async blob(image, blob, onBytes, signal): Promise<BlobFetched> {
      const stored = caches.blobs.store.acquire(blob.digest);
      if (stored !== undefined) {
        stored.release();
        return { cached: true, bytes: stored.size };
      }
      return fillBlob(caches, deps(image), image, blob, onBytes, signal, bucket);
    },
  };
}

async function fillBlob(
  caches: Caches,
  deps: PullDeps,
  image: PrefetchImage,
  blob: BlobRef,
  onBytes: (bytes: number) => void,
  signal: FetchSignal,
  bucket: TokenBucket | undefined,
): Promise<BlobFetched> {
  const route = { kind: 'blob' as const, name: image.name, digest: blob.digest };
  // cachedPull's fill with the run's cap in front of it: the cap must hold on the upstream
  // fetch, which runs at its own pace whatever its readers do.
  const fill: FillFetch = (fillSink, fillSignal) =>
    fetchFromUpstreams({ method: 'GET', route, headers: {}, resumable: true }, pacedSink(fillSink, bucket), deps, fillSignal);
  const result = await caches.blobs.get(blob.digest, new DiscardSink(onBytes), signal, fill, image.registry);
  switch (result.kind) {
    case 'relayed':
      // Its own fill committed: the upstream served the blob under this repository (blob-sources.ts).
      if (result.cache === 'MISS') caches.sources?.record(blob.digest, image.registry, image.name);
      return { cached: result.cache === 'HIT', bytes: result.bytes };
    case 'unavailable':
      throw new Error(result.fetch === undefined ? result.error.message : failure(result.fetch));
    case 'broken':
      throw new Error(`broken after ${result.bytes} bytes: ${result.error.message}`);
    case 'aborted':
      throw new Error('stopped');
  }
}

/** Why a fetch gave no content, in a few words (no URL: a signed CDN query must not reach a log). */
function failure(result: FetchResult): string {
  switch (result.kind) {
    case 'relayed':
      return `status ${result.status} from ${result.upstream}`;
    case 'answer':
      return `status ${result.response.status} from ${result.upstream}`;
    case 'unavailable':
      return `no upstream could answer (${result.attempts} tried)`;
    case 'broken':
      return `broken after ${result.bytes} bytes from ${result.upstream}: ${result.error.message}`;
    case 'aborted':
      return 'stopped';
  }
}
