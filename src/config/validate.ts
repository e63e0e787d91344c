/** The top level of the schema: turns the (env-substituted) YAML tree into a Config, collecting problems in `ctx`. */
import { isMap, isScalar } from 'yaml';
import { readAccess } from './access.js';
import { readAuthority } from './authority.js';
import { readBalance } from './balance.js';
import { readBreaker } from './breaker.js';
import { readHealth } from './health.js';
import { readHedge } from './hedge.js';
import { readCache } from './cache.js';
import { describe, duration, integer, boolean, oneOf } from './checks.js';
import type { Ctx } from './context.js';
import {
  DEFAULT_BALANCE,
  DEFAULT_BREAKER,
  DEFAULT_CLIENT_IDLE_MS,
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_FAILOVER,
  DEFAULT_HEALTH,
  DEFAULT_LOG_LEVEL,
  DEFAULT_REDIRECTS,
  DEFAULT_REGISTRY,
  DEFAULT_VERIFY_DIGESTS,
  DEFAULT_WORKERS,
  LOG_LEVELS,
} from './defaults.js';
import { readListen } from './listen.js';
import { readRedirects } from './redirects.js';
import { readPrefetch } from './prefetch.js';
import { optionalAuthority, readRegistries } from './registries.js';
import { BREAKER_KEYS, FAILOVER_KEYS, GATEWAY_TIMEOUT_KEYS, LOG_KEYS, REDIRECT_KEYS, ROOT_KEYS, SHUTDOWN_KEYS } from './schema.js';
import { field, readSection, subSection } from './section.js';
import type { Config } from './types.js';
import { UniqueValues } from './unique.js';
import { duplicateUpstreamName, readUpstreams, type UpstreamDefaults } from './upstreams.js';
import type { ValueNode } from './value-node.js';

/**
 * Returns the Config, or undefined when the root itself is unusable. Values
 * that failed a check are replaced by defaults only to keep the result
 * well-typed: the caller must throw when `ctx.problems` is not empty.
 */
export function validateConfig(ctx: Ctx, root: ValueNode, source: string): Config | undefined {
  if (root === null || (isScalar(root) && root.value === null)) {
    ctx.report('', root, 'the file is empty; expected a mapping with at least an "upstreams" list');
    return undefined;
  }
  if (!isMap(root)) {
    if (!ctx.alreadyReported(root)) ctx.report('', root, `the top level must be a mapping, got ${describe(root)}`);
    return undefined;
  }
  const s = readSection(ctx, root, '', ROOT_KEYS);
  if (s === undefined) return undefined;

  const breaker = readBreaker(ctx, subSection(ctx, s, 'breaker', BREAKER_KEYS), DEFAULT_BREAKER);
  const redirects = readRedirects(ctx, subSection(ctx, s, 'redirects', REDIRECT_KEYS), DEFAULT_REDIRECTS);
  const health = readHealth(ctx, s, DEFAULT_HEALTH);
  const balance = readBalance(ctx, s, DEFAULT_BALANCE);
  const defaults: UpstreamDefaults = { breaker, redirects, health };
  // Upstream names are unique across every registry's list, so duplicates are judged once all are read.
  const names = new UniqueValues();
  const cache = readCache(ctx, s);
  const upstreams = readUpstreams(ctx, s, defaults, names);
  const authority = optionalAuthority(readAuthority(ctx, s, defaults, names, cache !== undefined));
  const registries = readRegistries(ctx, s, { ...defaults, balance }, names, cache !== undefined);
  names.reportDuplicates(ctx, duplicateUpstreamName);
  const failover = subSection(ctx, s, 'failover', FAILOVER_KEYS);
  const log = subSection(ctx, s, 'log', LOG_KEYS);
  const shutdown = subSection(ctx, s, 'shutdown', SHUTDOWN_KEYS);
  const served = [DEFAULT_REGISTRY, ...registries.map((registry) => registry.name)];
  const timeouts = subSection(ctx, s, 'timeouts', GATEWAY_TIMEOUT_KEYS);
  return {
    source,
    listen: readListen(ctx, s),
    access: readAccess(ctx, s, served),
    upstreams,
    registries: [{ name: DEFAULT_REGISTRY, hosts: [], upstreams, balance, ...authority }, ...registries],
    redirects,
    breaker,
    health,
    balance,
    failover: {
      maxAttempts: field(ctx, failover, 'maxAttempts', integer(1), DEFAULT_FAILOVER.maxAttempts) ?? 0,
      on404: field(ctx, failover, 'on404', boolean, DEFAULT_FAILOVER.on404) ?? false,
      hedgeAfterMs: readHedge(ctx, failover),
    },
    workers: field(ctx, s, 'workers', integer(1), DEFAULT_WORKERS) ?? DEFAULT_WORKERS,
    verifyDigests: field(ctx, s, 'verifyDigests', boolean, DEFAULT_VERIFY_DIGESTS) ?? DEFAULT_VERIFY_DIGESTS,
    cache,
    prefetch: readPrefetch(ctx, s, served, cache !== undefined),
    clientIdleMs: field(ctx, timeouts, 'clientIdle', duration('> 0'), DEFAULT_CLIENT_IDLE_MS) ?? DEFAULT_CLIENT_IDLE_MS,
    log: { level: field(ctx, log, 'level', oneOf(LOG_LEVELS), DEFAULT_LOG_LEVEL) ?? DEFAULT_LOG_LEVEL },
    shutdown: {
      drainTimeoutMs: field(ctx, shutdown, 'drainTimeout', duration('>= 0'), DEFAULT_DRAIN_TIMEOUT_MS) ?? 0,
    },
  };
}
