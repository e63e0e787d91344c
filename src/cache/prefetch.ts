/**
 * Warming one image: its manifest by tag, the platform manifests an index names for the
 * platforms asked for, then every config and layer blob, each read whole through an
 * ImageSource that discards the bytes (the point is that the cache stores them). A blob that
 * fails is an error of the image; the other blobs go on. Knows nothing of HTTP or of the
 * gateway: the in-process source (local-source.ts) and the CLI's HTTP source implement it.
 */
import type { PrefetchImage } from '../config/types.js';
import { manifestContents, type BlobRef } from '../registry/manifests.js';
import { platformText, selectPlatforms, type Platform } from '../registry/platforms.js';
import type { FetchSignal } from '../stream/abort.js';

export interface FetchedManifest {
  readonly body: Buffer;
  readonly contentType: string;
}

export interface BlobFetched {
  /** The blob was already stored: nothing came from an upstream. */
  readonly cached: boolean;
  readonly bytes: number;
}

/** Where an image is read from; each method rejects with an Error saying what failed. */
export interface ImageSource {
  manifest(image: PrefetchImage, reference: string, signal: FetchSignal): Promise<FetchedManifest>;
  /** Reads the whole blob; `onBytes` is told as bytes arrive (not for a blob already stored). */
  blob(image: PrefetchImage, blob: BlobRef, onBytes: (bytes: number) => void, signal: FetchSignal): Promise<BlobFetched>;
}

/** Told as the blobs of an image go (the CLI's progress; the gateway logs the report only). */
export interface PrefetchEvents {
  blobStarted?(image: PrefetchImage, blob: BlobRef): void;
  blobBytes?(image: PrefetchImage, blob: BlobRef, bytes: number): void;
  blobDone?(image: PrefetchImage, blob: BlobRef, outcome: BlobFetched | { readonly error: string }): void;
}

export interface ImageReport {
  readonly image: string;
  /** Layer blobs (configs not counted). */
  readonly layers: number;
  readonly blobs: number;
  readonly fetchedBytes: number;
  readonly cachedBytes: number;
  readonly seconds: number;
  readonly errors: readonly string[];
  /** Platforms asked for that the index does not have. */
  readonly missingPlatforms: readonly string[];
}

/** Blobs read at once: enough to overlap one blob's round trips with another's bytes. */
const BLOB_CONCURRENCY = 3;

export async function prefetchImage(
  source: ImageSource,
  image: PrefetchImage,
  platforms: readonly Platform[],
  signal: FetchSignal,
  events: PrefetchEvents = {},
): Promise<ImageReport> {
  const started = performance.now();
  const errors: string[] = [];
  let fetchedBytes = 0;
  let cachedBytes = 0;
  const { blobs, missing } = await blobsOf(source, image, platforms, signal).catch((err: unknown) => {
    errors.push((err as Error).message);
    return { blobs: [] as BlobRef[], missing: [] as string[] };
  });
  await eachAtMost(BLOB_CONCURRENCY, blobs, async (blob) => {
    if (signal.aborted) return;
    events.blobStarted?.(image, blob);
    try {
      const got = await source.blob(image, blob, (bytes) => events.blobBytes?.(image, blob, bytes), signal);
      if (got.cached) cachedBytes += got.bytes;
      else fetchedBytes += got.bytes;
      events.blobDone?.(image, blob, got);
    } catch (err) {
      const error = `${blob.digest}: ${(err as Error).message}`;
      errors.push(error);
      events.blobDone?.(image, blob, { error });
    }
  });
  if (signal.aborted && errors.length === 0) errors.push('stopped');
  return {
    image: image.text,
    layers: blobs.filter((blob) => blob.kind === 'layer').length,
    blobs: blobs.length,
    fetchedBytes,
    cachedBytes,
    seconds: (performance.now() - started) / 1000,
    errors,
    missingPlatforms: missing,
  };
}

/** The blobs of the image for `platforms`, each once (platforms share layers and configs). */
async function blobsOf(
  source: ImageSource,
  image: PrefetchImage,
  platforms: readonly Platform[],
  signal: FetchSignal,
): Promise<{ blobs: BlobRef[]; missing: string[] }> {
  const top = await source.manifest(image, image.reference, signal);
  const contents = manifestContents(top.body, top.contentType);
  if (contents.kind === 'invalid') throw new Error(`manifest ${image.reference}: ${contents.reason}`);
  if (contents.kind === 'image') return { blobs: [...contents.blobs], missing: [] };
  const selection = selectPlatforms(contents.manifests, platforms);
  const missing = selection.missing.map(platformText);
  if (selection.entries.length === 0) {
    const offered = contents.manifests.flatMap((entry) => (entry.platform === undefined ? [] : [platformText(entry.platform)]));
    throw new Error(`the index has no manifest for ${missing.join(', ')} (it has ${offered.join(', ') || 'none with a platform'})`);
  }
  const blobs = new Map<string, BlobRef>();
  for (const entry of selection.entries) {
    const manifest = await source.manifest(image, entry.digest, signal);
    const platform = manifestContents(manifest.body, manifest.contentType);
    if (platform.kind !== 'image') throw new Error(`manifest ${entry.digest}: ${platform.kind === 'invalid' ? platform.reason : 'an index inside an index'}`);
    for (const blob of platform.blobs) if (!blobs.has(blob.digest)) blobs.set(blob.digest, blob);
  }
  return { blobs: [...blobs.values()], missing };
}

/** Runs `work` on every item, at most `limit` at a time; never rejects if `work` does not. */
async function eachAtMost<T>(limit: number, items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
