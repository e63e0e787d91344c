/**
 * The line `mirrorgate check` prints under its upstream table about the cache: whether it is on,
 * where, and how big it may grow — what an operator checks before a rollout.
 */
import type { Config } from '../config/types.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

export function cacheSummary(config: Config): string {
  const cache = config.cache;
  if (cache === undefined) return 'cache: off (relay only: `cache:` is false or left out)';
  const size = cache.maxBytes >= GiB ? `${+(cache.maxBytes / GiB).toFixed(1)} GiB` : `${+(cache.maxBytes / MiB).toFixed(1)} MiB`;
  const percent = (fraction: number): string => `${+(fraction * 100).toFixed(1)}%`;
  const shared = config.workers > 1 ? `, shared by ${config.workers} workers` : '';
  return `cache: on in ${cache.dir}, up to ${size} (evicts from ${percent(cache.highWatermark)} down to ${percent(cache.lowWatermark)})${shared}`;
}
