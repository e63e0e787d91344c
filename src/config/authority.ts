/**
 * `authority:` (the top level's, for docker.io) and `registries.<name>.authority`: the registry
 * tags are resolved at, while the upstreams serve the content by digest. It is read as an
 * upstream item (same keys, checks and defaults, so it gets its own tokens, breaker and pool),
 * less `weight` and `backup`: it is never balanced. Its name is unique with the upstreams' names.
 * Only the cache resolves tags there (it holds the manifests a digest is served from), so an
 * authority without `cache:` is a mistake worth reporting, not a setting to ignore.
 */
import type { Ctx } from './context.js';
import { keyPath } from './paths.js';
import { AUTHORITY_KEYS } from './schema.js';
import { readSection, type Section } from './section.js';
import type { UpstreamConfig } from './types.js';
import type { UniqueValues } from './unique.js';
import { readUpstream, type UpstreamDefaults } from './upstreams.js';

export function readAuthority(ctx: Ctx, parent: Section, defaults: UpstreamDefaults, names: UniqueValues, cacheOn: boolean): UpstreamConfig | undefined {
  const entry = parent.entries.get('authority');
  if (entry === undefined) return undefined;
  const path = keyPath(parent.path, 'authority');
  if (!cacheOn) ctx.report(path, entry.key, 'resolving tags at an authority needs the cache; add "cache:" or remove the authority');
  const section = readSection(ctx, entry.value, path, AUTHORITY_KEYS);
  if (section === undefined) return undefined;
  const read = readUpstream(ctx, section, defaults);
  const nameNode = section.entries.get('name')?.value;
  if (read.name !== undefined && nameNode !== undefined && nameNode !== null) {
    names.add(read.name, keyPath(path, 'name'), nameNode);
  }
  return read.config;
}
