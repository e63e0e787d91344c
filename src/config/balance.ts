/** `balance:` (global) and `registries.<name>.balance`: how a registry's balancer shares requests; a registry's keys override the global ones. */
import { duration, oneOf } from './checks.js';
import type { Ctx } from './context.js';
import { BALANCE_KEYS } from './schema.js';
import { field, subSection, type Section } from './section.js';
import { BALANCE_MODES, type BalanceConfig } from './types.js';

export function readBalance(ctx: Ctx, parent: Section, fallback: BalanceConfig): BalanceConfig {
  const s = subSection(ctx, parent, 'balance', BALANCE_KEYS);
  return {
    slowStartMs: field(ctx, s, 'slowStart', duration('>= 0'), fallback.slowStartMs) ?? fallback.slowStartMs,
    mode: field(ctx, s, 'mode', oneOf(BALANCE_MODES), fallback.mode) ?? fallback.mode,
    halfLifeMs: field(ctx, s, 'halfLife', duration('> 0'), fallback.halfLifeMs) ?? fallback.halfLifeMs,
  };
}
