/**
 * `redirects:` mappings. Like `breaker:`, the same reader serves the global
 * defaults and each upstream's override, with the global values as the
 * key-by-key fallback. An upstream's `allowHosts` replaces the global list
 * rather than adding to it, as every other overridden key does.
 */
import { boolean, oneOf } from './checks.js';
import type { Ctx } from './context.js';
import { REDIRECT_MODES } from './defaults.js';
import { hostName } from './hostnames.js';
import { field, listField, type Section } from './section.js';
import type { RedirectConfig } from './types.js';

export function readRedirects(ctx: Ctx, section: Section, fallback: RedirectConfig): RedirectConfig {
  return {
    mode: field(ctx, section, 'mode', oneOf(REDIRECT_MODES), fallback.mode) ?? fallback.mode,
    allowHosts: listField(ctx, section, 'allowHosts', 'host names', hostName, fallback.allowHosts) ?? [],
    allowPrivate: field(ctx, section, 'allowPrivate', boolean, fallback.allowPrivate) ?? fallback.allowPrivate,
  };
}
