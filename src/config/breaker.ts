/**
 * `breaker:` mappings. The same reader serves the global defaults and each
 * upstream's override: an upstream passes the global values as fallbacks, so
 * "merge with globals" falls out of reading a key-by-key default.
 */
import { duration, integer, numberBetween } from './checks.js';
import type { Ctx } from './context.js';
import { field, type Section } from './section.js';
import type { BreakerConfig } from './types.js';

export function readBreaker(ctx: Ctx, section: Section, fallback: BreakerConfig): BreakerConfig {
  return {
    errorThresholdPercentage:
      field(ctx, section, 'errorThresholdPercentage', numberBetween(1, 100), fallback.errorThresholdPercentage) ?? fallback.errorThresholdPercentage,
    volumeThreshold: field(ctx, section, 'volumeThreshold', integer(1), fallback.volumeThreshold) ?? fallback.volumeThreshold,
    windowMs: field(ctx, section, 'window', duration('> 0'), fallback.windowMs) ?? fallback.windowMs,
    resetTimeoutMs: field(ctx, section, 'resetTimeout', duration('> 0'), fallback.resetTimeoutMs) ?? fallback.resetTimeoutMs,
    quarantineMs: field(ctx, section, 'quarantine', duration('>= 0'), fallback.quarantineMs) ?? fallback.quarantineMs,
  };
}
