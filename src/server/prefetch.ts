/**
 * `prefetch:` wired to the gateway: the schedule's source reads through the gateway's caches and
 * its current upstreams (a reload's new upstreams serve the next blob), so a prefetch shares
 * single flight, failover, verification and metrics with client pulls.
 */
import { localSource } from '../cache/local-source.js';
import { PrefetchSchedule } from '../cache/prefetch-schedule.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Gateway } from './gateway.js';

/** Undefined when there is nothing to prefetch into (no cache: `workers` > 1, or its directory could not be opened). */
export function startPrefetch(gateway: Gateway, logger: Logger, metrics: Metrics): PrefetchSchedule | undefined {
  const caches = gateway.cache;
  const config = gateway.current.config;
  if (caches === undefined) {
    if (config.prefetch !== undefined) logger.warn({ event: 'prefetch' }, 'prefetch needs the blob cache, which is off: not prefetching');
    return undefined;
  }
  const schedule = new PrefetchSchedule({
    logger,
    metrics,
    source: (bucket) => localSource({ caches, depsFor: (registry) => gateway.pullDepsFor(registry), ...(bucket === undefined ? {} : { bucket }) }),
  });
  schedule.apply(config.prefetch);
  return schedule;
}
