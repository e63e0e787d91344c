/**
 * `health:` (global) and `upstreams[].health`: active checks, or `false` for none. An upstream's
 * mapping is merged key by key with the global one (or with the defaults when the global section
 * is `false`, so one upstream can be checked while the others are not).
 */
import { isScalar } from 'yaml';
import { duration, expected, fromString, integer, ok, fail } from './checks.js';
import type { Ctx } from './context.js';
import { DEFAULT_HEALTH } from './defaults.js';
import { keyPath } from './paths.js';
import { HEALTH_KEYS } from './schema.js';
import { field, subSection, type Section } from './section.js';
import type { HealthConfig } from './types.js';

const healthPath = fromString('a path such as "/v2/"', (text) => (text.startsWith('/') ? ok(text) : fail(`must start with "/", got ${JSON.stringify(text)}`)));

/** `fallback`: what an absent key means here (the global section's value; undefined when that is off). */
export function readHealth(ctx: Ctx, parent: Section, fallback: HealthConfig | undefined): HealthConfig | undefined {
  const entry = parent.entries.get('health');
  if (entry === undefined) return fallback;
  if (isScalar(entry.value) && entry.value.value === false) return undefined;
  if (isScalar(entry.value) && entry.value.value !== null) {
    const problem = expected('false or a mapping', entry.value);
    if (!problem.ok) ctx.report(keyPath(parent.path, 'health'), entry.value, problem.message);
    return fallback;
  }
  const base = fallback ?? DEFAULT_HEALTH;
  const s = subSection(ctx, parent, 'health', HEALTH_KEYS);
  return {
    path: field(ctx, s, 'path', healthPath, base.path) ?? base.path,
    intervalMs: field(ctx, s, 'interval', duration('> 0'), base.intervalMs) ?? base.intervalMs,
    timeoutMs: field(ctx, s, 'timeout', duration('> 0'), base.timeoutMs) ?? base.timeoutMs,
    unhealthyAfter: field(ctx, s, 'unhealthyAfter', integer(1), base.unhealthyAfter) ?? base.unhealthyAfter,
    healthyAfter: field(ctx, s, 'healthyAfter', integer(1), base.healthyAfter) ?? base.healthyAfter,
  };
}
