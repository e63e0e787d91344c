/**
 * `breaker:` mappings. The same reader serves the global defaults and each
 * upstream's override: an upstream passes the global values as fallbacks, so
 * "merge with globals" falls out of reading a key-by-key default.
 */
import { parsePercent } from './cache.js';
import { duration, fromString, integer, numberBetween } from './checks.js';
import type { Ctx } from './context.js';
import { SLOW_CALL_KEYS } from './schema.js';
import { field, subSection, type Section } from './section.js';
import type { BreakerConfig } from './types.js';

export function readBreaker(ctx: Ctx, section: Section, fallback: BreakerConfig): BreakerConfig {
  const slow = subSection(ctx, section, 'slowCall', SLOW_CALL_KEYS);
  return {
    errorThresholdPercentage:
      field(ctx, section, 'errorThresholdPercentage', numberBetween(1, 100), fallback.errorThresholdPercentage) ?? fallback.errorThresholdPercentage,
    volumeThreshold: field(ctx, section, 'volumeThreshold', integer(1), fallback.volumeThreshold) ?? fallback.volumeThreshold,
    windowMs: field(ctx, section, 'window', duration('> 0'), fallback.windowMs) ?? fallback.windowMs,
    resetTimeoutMs: field(ctx, section, 'resetTimeout', duration('> 0'), fallback.resetTimeoutMs) ?? fallback.resetTimeoutMs,
    quarantineMs: field(ctx, section, 'quarantine', duration('>= 0'), fallback.quarantineMs) ?? fallback.quarantineMs,
    consecutiveFailures: field(ctx, section, 'consecutiveFailures', integer(0), fallback.consecutiveFailures) ?? fallback.consecutiveFailures,
    slowCallMs: field(ctx, slow, 'threshold', duration('> 0'), fallback.slowCallMs) ?? fallback.slowCallMs,
    slowCallRate: field(ctx, slow, 'rate', fromString('a percentage', parsePercent), fallback.slowCallRate) ?? fallback.slowCallRate,
  };
}
