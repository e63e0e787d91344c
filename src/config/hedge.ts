/** `failover.hedge`: `false`, or a mapping (defaults when left out) saying after how long a manifest or HEAD is also asked of a second upstream. */
import { isScalar } from 'yaml';
import { duration } from './checks.js';
import type { Ctx } from './context.js';
import { DEFAULT_FAILOVER } from './defaults.js';
import { HEDGE_KEYS } from './schema.js';
import { field, subSection, type Section } from './section.js';

export function readHedge(ctx: Ctx, failover: Section): number | undefined {
  const entry = failover.entries.get('hedge');
  if (entry !== undefined && isScalar(entry.value) && entry.value.value === false) return undefined;
  const s = subSection(ctx, failover, 'hedge', HEDGE_KEYS);
  const fallback = DEFAULT_FAILOVER.hedgeAfterMs ?? 0;
  return field(ctx, s, 'after', duration('> 0'), fallback) ?? fallback;
}
