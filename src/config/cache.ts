/** `cache:` — `false` or absent for relay only, a mapping for the blob cache on local disk. */
import { isScalar } from 'yaml';
import { duration, expected, fromString, integer, nonEmptyString, ok, fail, type Result } from './checks.js';
import type { Ctx } from './context.js';
import { DEFAULT_CACHE, DEFAULT_PARALLEL } from './defaults.js';
import { CACHE_KEYS, CACHE_PARALLEL_KEYS, CACHE_TAG_KEYS } from './schema.js';
import { field, subSection, type Section } from './section.js';
import { readTagRules } from './tag-rules.js';
import type { CacheConfig, ParallelFillConfig } from './types.js';

const UNITS: Readonly<Record<string, number>> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 };
const SIZE = /^(\d+(?:\.\d+)?)(B|KiB|MiB|GiB|TiB|KB|MB|GB|TB)$/;
const PERCENT = /^(\d+(?:\.\d+)?)%$/;

export function parseSize(text: string): Result<number> {
  const match = SIZE.exec(text);
  const bytes = match === null ? NaN : Math.floor(Number(match[1]) * UNITS[match[2]!]!);
  return Number.isSafeInteger(bytes) && bytes > 0 ? ok(bytes) : fail(`must be a size such as "50GiB" or "512MiB", got ${JSON.stringify(text)}`);
}

export function parsePercent(text: string): Result<number> {
  const match = PERCENT.exec(text);
  const value = match === null ? NaN : Number(match[1]);
  return value > 0 && value <= 100 ? ok(value / 100) : fail(`must be a percentage above 0 and at most 100 such as "90%", got ${JSON.stringify(text)}`);
}

export function readCache(ctx: Ctx, root: Section): CacheConfig | undefined {
  const entry = root.entries.get('cache');
  if (entry === undefined) return undefined;
  if (isScalar(entry.value) && entry.value.value === false) return undefined;
  if (isScalar(entry.value) && entry.value.value !== null) {
    const problem = expected('false or a mapping', entry.value);
    if (!problem.ok) ctx.report('cache', entry.value, problem.message);
    return undefined;
  }
  const s = subSection(ctx, root, 'cache', CACHE_KEYS);
  const dir = field(ctx, s, 'dir', nonEmptyString, DEFAULT_CACHE.dir) ?? DEFAULT_CACHE.dir;
  const highWatermark = field(ctx, s, 'highWatermark', fromString('a percentage', parsePercent), DEFAULT_CACHE.highWatermark) ?? DEFAULT_CACHE.highWatermark;
  const lowWatermark = field(ctx, s, 'lowWatermark', fromString('a percentage', parsePercent), DEFAULT_CACHE.lowWatermark) ?? DEFAULT_CACHE.lowWatermark;
  if (lowWatermark >= highWatermark) {
    const at = s.entries.get('lowWatermark') ?? s.entries.get('highWatermark');
    ctx.report('cache.lowWatermark', at?.value ?? s.node, `must be below highWatermark (${highWatermark * 100}%), got ${lowWatermark * 100}%`);
  }
  const tags = subSection(ctx, s, 'tags', CACHE_TAG_KEYS);
  return {
    tagTtlMs: field(ctx, tags, 'ttl', duration('>= 0'), DEFAULT_CACHE.tagTtlMs) ?? DEFAULT_CACHE.tagTtlMs,
    tagRules: readTagRules(ctx, tags) ?? [],
    notFoundTtlMs: field(ctx, tags, 'notFoundTtl', duration('>= 0'), DEFAULT_CACHE.notFoundTtlMs) ?? DEFAULT_CACHE.notFoundTtlMs,
    dir: ctx.resolvePath(dir),
    maxBytes: field(ctx, s, 'maxSize', fromString('a size', parseSize), DEFAULT_CACHE.maxBytes) ?? DEFAULT_CACHE.maxBytes,
    highWatermark,
    lowWatermark,
    parallel: readParallel(ctx, s),
  };
}

/** `cache.parallel`: false, or a mapping (defaults when left out). */
function readParallel(ctx: Ctx, cache: Section): ParallelFillConfig | undefined {
  const entry = cache.entries.get('parallel');
  if (entry !== undefined && isScalar(entry.value) && entry.value.value === false) return undefined;
  const s = subSection(ctx, cache, 'parallel', CACHE_PARALLEL_KEYS);
  const size = (key: 'minSize' | 'pieceSize'): number => field(ctx, s, key, fromString('a size', parseSize), DEFAULT_PARALLEL[key]) ?? DEFAULT_PARALLEL[key];
  return {
    minSize: size('minSize'),
    pieceSize: size('pieceSize'),
    perMirror: field(ctx, s, 'perMirror', integer(1), DEFAULT_PARALLEL.perMirror) ?? DEFAULT_PARALLEL.perMirror,
  };
}
