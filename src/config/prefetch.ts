/**
 * `prefetch:` — images the gateway pulls into its cache on a schedule, so the first pull of a
 * popular image after a release (or after the cache was emptied) is already a HIT.
 */
import { hubName, imageText, parseImageRef } from '../registry/image-ref.js';
import { hostPlatform, parsePlatform, platformText } from '../registry/platforms.js';
import { duration, fail, fromString, ok, type Check, type Result } from './checks.js';
import type { Ctx } from './context.js';
import { DEFAULT_PREFETCH, DEFAULT_REGISTRY, DOCKER_HUB_HOSTS } from './defaults.js';
import { parseSize } from './cache.js';
import { PREFETCH_KEYS } from './schema.js';
import { field, listField, subSection, type Section } from './section.js';
import type { PrefetchConfig, PrefetchImage } from './types.js';
import type { Platform } from '../registry/platforms.js';

/**
 * An image as written (`nginx:1.27`, `ghcr.io/org/app:1.2`) against the registries served
 * (`served`, the default one first): a registry prefix must be one of them, none means the
 * default registry, as a request without `ns` or a known Host is routed.
 */
export function resolveImage(text: string, served: readonly string[]): Result<PrefetchImage> {
  const parsed = parseImageRef(text);
  if (!parsed.ok) return fail(parsed.message);
  const { registry: written, name, reference } = parsed.image;
  const registry = written === undefined || DOCKER_HUB_HOSTS.includes(written) ? DEFAULT_REGISTRY : written;
  if (!served.includes(registry)) return fail(`registry ${registry} of ${JSON.stringify(text)} is not served here; served: ${served.join(', ')}`);
  const repository = registry === DEFAULT_REGISTRY ? hubName(name) : name;
  return ok({ registry, name: repository, reference, text: imageText(registry, repository, reference) });
}

export function parsePlatformText(text: string): Result<Platform> {
  const platform = parsePlatform(text);
  return platform === undefined ? fail(`must be a platform such as "linux/amd64" or "linux/arm64/v8", got ${JSON.stringify(text)}`) : ok(platform);
}

/** `50MiB/s`: bytes per second. */
export function parseRate(text: string): Result<number> {
  const size = text.endsWith('/s') ? parseSize(text.slice(0, -2)) : undefined;
  return size?.ok === true ? size : fail(`must be a rate such as "50MiB/s" or "10MB/s", got ${JSON.stringify(text)}`);
}

export function readPrefetch(ctx: Ctx, root: Section, served: readonly string[], cached: boolean): PrefetchConfig | undefined {
  const entry = root.entries.get('prefetch');
  if (entry === undefined) return undefined;
  const s = subSection(ctx, root, 'prefetch', PREFETCH_KEYS);
  if (!cached) ctx.report('prefetch', entry.key, 'needs "cache": prefetch fills the blob cache, and without one there is nothing to fill');
  const image: Check<PrefetchImage> = fromString('an image reference such as "nginx:1.27"', (text) => resolveImage(text, served));
  const images = s.entries.has('images') ? listField(ctx, s, 'images', 'image references', image, []) : undefined;
  if (!s.entries.has('images')) ctx.report('prefetch.images', s.node, 'required key is missing');
  else if (images?.length === 0) ctx.report('prefetch.images', s.entries.get('images')!.value, 'must list at least one image');
  const platforms = listField(ctx, s, 'platforms', 'platforms', fromString('a platform such as "linux/amd64"', parsePlatformText), [hostPlatform()]);
  if (platforms?.length === 0)
    ctx.report('prefetch.platforms', s.entries.get('platforms')!.value, "must list at least one platform (leave it out for the host's)");
  const rate = field<number | undefined>(ctx, s, 'rate', fromString('a rate such as "50MiB/s"', parseRate), undefined);
  return {
    images: images ?? [],
    platforms: dedupe(platforms ?? []),
    everyMs: field(ctx, s, 'every', duration('> 0'), DEFAULT_PREFETCH.everyMs) ?? DEFAULT_PREFETCH.everyMs,
    delayMs: field(ctx, s, 'delay', duration('>= 0'), DEFAULT_PREFETCH.delayMs) ?? DEFAULT_PREFETCH.delayMs,
    ...(rate === undefined ? {} : { bytesPerSecond: rate }),
  };
}

/** `[linux/amd64, linux/amd64]` is one platform. */
function dedupe(platforms: readonly Platform[]): Platform[] {
  const texts = platforms.map(platformText);
  return platforms.filter((_, i) => texts.indexOf(texts[i]!) === i);
}
