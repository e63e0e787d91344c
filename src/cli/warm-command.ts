/**
 * `mirrorgate warm [IMAGE...] [--platform P] [--gateway URL]`: the prefetch of `prefetch:`, now,
 * from the command line. With `--gateway` the images are pulled through a running gateway,
 * which fills its own cache. Without, the config's cache directory is opened here and filled by
 * the same code the gateway runs (cache/prefetch.ts through cache/local-source.ts), holding the
 * directory's lock: beside a running gateway that refuses, pointing at `--gateway`.
 */
import { localSource } from '../cache/local-source.js';
import { prefetchImage, type ImageReport, type ImageSource } from '../cache/prefetch.js';
import { DirLockedError } from '../cache/dir-lock.js';
import { parsePlatformText, resolveImage } from '../config/prefetch.js';
import type { Config, Platform, PrefetchImage } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { hostPlatform } from '../registry/platforms.js';
import { Gateway } from '../server/gateway.js';
import { openCaches } from '../server/open-cache.js';
import { TokenBucket } from '../stream/paced-sink.js';
import { httpSource } from './http-source.js';
import { createProgress } from './warm-progress.js';

export const WARM_USAGE = `usage: mirrorgate warm [IMAGE...] [-c FILE] [--platform P]... [--gateway URL]

  IMAGE             nginx:1.27, library/redis:7-alpine, ghcr.io/org/app:1.2 (a registry the
                    config serves); none: the config's prefetch.images
  --platform P      linux/amd64, linux/arm64/v8 (repeat, or comma-separated); default: the
                    config's prefetch.platforms, else the host's
  --gateway URL     pull through the gateway running at URL (it fills its cache); without it,
                    fill the config's cache directory here (no gateway may be using it)
`;

export interface WarmOptions {
  readonly images: readonly string[];
  readonly platforms: readonly string[];
  readonly gateway: string | undefined;
}

/** Exit codes: 0 every image warm, 1 some image failed (or the cache is in use), 2 bad usage. */
export async function runWarm(config: Config, options: WarmOptions, logger: Logger, signal: AbortSignal): Promise<number> {
  const wanted = resolveArguments(config, options);
  if (typeof wanted === 'string') {
    process.stderr.write(`mirrorgate warm: ${wanted}\n\n${WARM_USAGE}`);
    return 2;
  }
  if (options.gateway !== undefined) return warmAll(httpSource(options.gateway), wanted, signal);
  if (config.cache === undefined) {
    process.stderr.write(`mirrorgate warm: ${config.source} has no cache to fill (cache: is left out or false); use --gateway URL\n`);
    return 2;
  }
  const metrics = createMetrics();
  let caches;
  try {
    caches = await openCaches(config.cache, logger, metrics);
  } catch (err) {
    const hint = err instanceof DirLockedError ? ' (a running gateway? warm through it with --gateway http://HOST:PORT)' : '';
    process.stderr.write(`mirrorgate warm: cannot open the cache: ${(err as Error).message}${hint}\n`);
    return 1;
  }
  const gateway = new Gateway(config, logger, metrics);
  const rate = config.prefetch?.bytesPerSecond;
  const source = localSource({
    caches,
    depsFor: (registry) => gateway.pullDepsFor(registry),
    ...(rate === undefined ? {} : { bucket: new TokenBucket(rate) }),
  });
  try {
    return await warmAll(source, wanted, signal);
  } finally {
    await caches.blobs.close();
    await gateway.close();
  }
}

interface Wanted {
  readonly images: readonly PrefetchImage[];
  readonly platforms: readonly Platform[];
}

/** The images and platforms to warm, or what is wrong with the arguments. */
function resolveArguments(config: Config, options: WarmOptions): Wanted | string {
  const served = config.registries.map((registry) => registry.name);
  const images: PrefetchImage[] = [];
  for (const text of options.images) {
    const image = resolveImage(text, served);
    if (!image.ok) return image.message;
    images.push(image.value);
  }
  if (images.length === 0) images.push(...(config.prefetch?.images ?? []));
  if (images.length === 0) return `no IMAGE given, and ${config.source} has no prefetch.images`;
  const platforms: Platform[] = [];
  for (const text of options.platforms.flatMap((p) => p.split(',')).filter((p) => p !== '')) {
    const platform = parsePlatformText(text);
    if (!platform.ok) return `--platform ${platform.message}`;
    platforms.push(platform.value);
  }
  return { images, platforms: platforms.length > 0 ? platforms : (config.prefetch?.platforms ?? [hostPlatform()]) };
}

async function warmAll(source: ImageSource, { images, platforms }: Wanted, signal: AbortSignal): Promise<number> {
  const progress = createProgress(process.stdout);
  const reports: ImageReport[] = [];
  try {
    for (const image of images) {
      if (signal.aborted) break;
      const report = await prefetchImage(source, image, platforms, signal, progress.events);
      reports.push(report);
      progress.imageDone(report);
    }
  } finally {
    progress.stop();
  }
  const failed = reports.filter((report) => report.errors.length > 0);
  const fetched = reports.reduce((sum, report) => sum + report.fetchedBytes, 0);
  const cached = reports.reduce((sum, report) => sum + report.cachedBytes, 0);
  const MiB = 1024 * 1024;
  process.stdout.write(
    `warmed ${reports.length - failed.length} of ${images.length} images: ${(fetched / MiB).toFixed(1)} MiB fetched, ${(cached / MiB).toFixed(1)} MiB already cached\n`,
  );
  if (failed.length === 0 && reports.length === images.length) return 0;
  const names = failed.map((report) => report.image).join(', ');
  const why =
    failed.length === 0 ? `stopped after ${reports.length} of ${images.length} images` : `${failed.length} of ${images.length} images failed: ${names}`;
  process.stderr.write(`mirrorgate warm: ${why}\n`);
  return 1;
}
