/**
 * Every key the config file accepts, in one table. The validators take their
 * lists of allowed keys from it (`keysOf`), so a key the table lacks is an
 * "unknown key" to the loader; docs/configuration.md documents exactly these
 * paths with these defaults, and test/unit/docs/configuration-docs.test.ts
 * fails when they disagree (it also asks the loader itself which keys it
 * accepts, and whether writing each default out changes the Config).
 *
 * Paths: `a.b` is key `b` of mapping `a`, `a[]` an item of list `a`,
 * `a.<name>` an entry of a mapping whose keys the user chooses
 * (`registries.ghcr.io`). A mapping whose keys are all listed (`failover`,
 * `upstreams[].tls`) has no row of its own; its keys say all there is.
 *
 * The typed default values the validators use are in defaults.ts; a row's
 * `default` is the same value as one would write it in the file.
 */
export interface ConfigKey {
  readonly path: string;
  /** The value used when the key is left out, as YAML (`5s`, `[]`, `"0.0.0.0:5000"`). Absent: required, none, or derived. */
  readonly default?: string;
  readonly required?: true;
  /** The value has the keys, checks and defaults of another path (an upstream's `breaker:` override, a registry's `upstreams:`). */
  readonly sameAs?: string;
  /** Keys of the `sameAs` target that do not apply here (an authority has no weight: it is never balanced). */
  readonly except?: readonly string[];
}

/** Upstream keys that only matter to a balancer, which an authority (never balanced) does not take. */
const BALANCER_ONLY: readonly string[] = ['weight', 'backup'];

// The order of each mapping's keys is the order "expected one of ..." lists them in.
export const CONFIG_KEYS: readonly ConfigKey[] = [
  // A string, a mapping, or a list of strings and mappings: the one row that is both a value and a mapping.
  { path: 'listen', default: '"0.0.0.0:5000"' },
  { path: 'listen.address', required: true },
  { path: 'listen.tls.cert', required: true },
  { path: 'listen.tls.key', required: true },
  { path: 'listen.tls.ca' },
  // Default true; not written here because a `tls:` holding only `http2` lacks its cert and key.
  { path: 'listen.tls.http2' },
  // Absent: everyone may pull everything.
  { path: 'access.htpasswd' },
  { path: 'access.rules', required: true },
  { path: 'access.rules[].repositories', required: true },
  { path: 'access.rules[].registries', default: '[]' },
  { path: 'access.rules[].allow', required: true },
  { path: 'access.networks', default: '[]' },
  { path: 'upstreams', required: true },
  { path: 'upstreams[].name', required: true },
  { path: 'upstreams[].url', required: true },
  { path: 'upstreams[].weight', default: '1' },
  { path: 'upstreams[].backup', default: 'false' },
  { path: 'upstreams[].tls.insecureSkipVerify', default: 'false' },
  { path: 'upstreams[].tls.ca' },
  { path: 'upstreams[].timeouts.connect', default: '5s' },
  { path: 'upstreams[].timeouts.headers', default: '10s' },
  { path: 'upstreams[].timeouts.idle', default: '60s' },
  { path: 'upstreams[].timeouts.queue', default: '10s' },
  { path: 'upstreams[].maxConnections', default: '64' },
  { path: 'upstreams[].breaker', sameAs: 'breaker' },
  { path: 'upstreams[].auth.username' },
  { path: 'upstreams[].auth.password' },
  { path: 'upstreams[].auth.passwordFile' },
  { path: 'upstreams[].redirects', sameAs: 'redirects' },
  // `health: false` (here or globally) turns the checks off; a mapping here turns them on for this upstream.
  { path: 'upstreams[].health', sameAs: 'health' },
  // Derived: true when the url's host is one of DOCKER_HUB_HOSTS.
  { path: 'upstreams[].dockerHub' },
  { path: 'upstreams[].repositoryPrefix' },
  // The registry that resolves tags (HEAD by tag) while the upstreams serve the content by digest.
  { path: 'authority', sameAs: 'upstreams[]', except: BALANCER_ONLY },
  { path: 'registries' },
  { path: 'registries.<name>.hosts', default: '[]' },
  { path: 'registries.<name>.upstreams', required: true, sameAs: 'upstreams' },
  { path: 'registries.<name>.authority', sameAs: 'upstreams[]', except: BALANCER_ONLY },
  { path: 'registries.<name>.balance', sameAs: 'balance' },
  { path: 'redirects.mode', default: 'follow' },
  { path: 'redirects.allowHosts', default: '[]' },
  { path: 'redirects.allowPrivate', default: 'false' },
  { path: 'breaker.errorThresholdPercentage', default: '50' },
  { path: 'breaker.volumeThreshold', default: '10' },
  { path: 'breaker.window', default: '10s' },
  { path: 'breaker.resetTimeout', default: '30s' },
  { path: 'breaker.quarantine', default: '5m' },
  { path: 'breaker.consecutiveFailures', default: '3' },
  { path: 'breaker.slowCall.threshold', default: '5s' },
  { path: 'breaker.slowCall.rate', default: '50%' },
  // `health: false` turns active checks off for every upstream that does not ask for them itself.
  { path: 'health.path', default: '/v2/' },
  { path: 'health.interval', default: '10s' },
  { path: 'health.timeout', default: '2s' },
  { path: 'health.unhealthyAfter', default: '2' },
  { path: 'health.healthyAfter', default: '2' },
  { path: 'balance.mode', default: 'static' },
  { path: 'balance.slowStart', default: '30s' },
  { path: 'balance.halfLife', default: '1m' },
  { path: 'failover.maxAttempts', default: '3' },
  { path: 'failover.on404', default: 'true' },
  // `failover.hedge: false` never sends a second request.
  { path: 'failover.hedge.after', default: '1s' },
  { path: 'verifyDigests', default: 'true' },
  // `cache: false` (or leaving it out) relays only; a mapping turns the cache on.
  { path: 'cache.dir', default: 'data/cache' },
  { path: 'cache.maxSize', default: '10GiB' },
  { path: 'cache.highWatermark', default: '90%' },
  { path: 'cache.lowWatermark', default: '80%' },
  { path: 'cache.tags.ttl', default: '1m' },
  { path: 'cache.tags.rules', default: '[]' },
  { path: 'cache.tags.rules[].match', required: true },
  { path: 'cache.tags.rules[].ttl', required: true },
  { path: 'cache.tags.notFoundTtl', default: '15s' },
  // `cache.parallel: false` fetches every blob from one mirror.
  { path: 'cache.parallel.minSize', default: '32MiB' },
  { path: 'cache.parallel.pieceSize', default: '8MiB' },
  { path: 'cache.parallel.perMirror', default: '2' },
  // Needs `cache`. Platforms default to the host's (derived, so no single default here).
  { path: 'prefetch.images', required: true },
  { path: 'prefetch.platforms' },
  { path: 'prefetch.every', default: '6h' },
  { path: 'prefetch.delay', default: '30s' },
  { path: 'prefetch.rate' },
  { path: 'workers', default: '1' },
  { path: 'timeouts.clientIdle', default: '5m' },
  { path: 'log.level', default: 'info' },
  { path: 'shutdown.drainTimeout', default: '25s' },
];

/** `upstreams[].tls.ca` → ['upstreams', '[]', 'tls', 'ca']; `registries.<name>.hosts` → ['registries', '<name>', 'hosts']. */
export function pathSegments(path: string): string[] {
  if (path === '') return [];
  return path.split('.').flatMap((s) => (s.endsWith('[]') ? [s.slice(0, -2), '[]'] : [s]));
}

/** False for the `[]` and `<name>` steps of a path, which are not keys. */
export const isKey = (segment: string): boolean => segment !== '[]' && segment !== '<name>';

/** The keys allowed directly under `parent` (`''` for the top level), in table order. */
export function keysOf(parent: string): readonly string[] {
  const prefix = pathSegments(parent);
  const keys: string[] = [];
  for (const { path } of CONFIG_KEYS) {
    const segments = pathSegments(path);
    const next = segments[prefix.length];
    if (next === undefined || !isKey(next) || keys.includes(next)) continue;
    if (prefix.every((s, i) => segments[i] === s)) keys.push(next);
  }
  // A typo in a validator's parent path would otherwise make every key of that mapping "unknown".
  if (keys.length === 0) throw new Error(`config schema: no keys under ${JSON.stringify(parent)}`);
  return Object.freeze(keys);
}

export const ROOT_KEYS = keysOf('');
export const LISTEN_KEYS = keysOf('listen');
export const LISTEN_TLS_KEYS = keysOf('listen.tls');
export const ACCESS_KEYS = keysOf('access');
export const ACCESS_RULE_KEYS = keysOf('access.rules[]');
export const UPSTREAM_KEYS = keysOf('upstreams[]');
export const TLS_KEYS = keysOf('upstreams[].tls');
export const TIMEOUT_KEYS = keysOf('upstreams[].timeouts');
export const AUTH_KEYS = keysOf('upstreams[].auth');
export const REGISTRY_KEYS = keysOf('registries.<name>');
export const REDIRECT_KEYS = keysOf('redirects');
export const BREAKER_KEYS = keysOf('breaker');
export const SLOW_CALL_KEYS = keysOf('breaker.slowCall');
export const HEALTH_KEYS = keysOf('health');
export const BALANCE_KEYS = keysOf('balance');
export const HEDGE_KEYS = keysOf('failover.hedge');
export const FAILOVER_KEYS = keysOf('failover');
export const LOG_KEYS = keysOf('log');
export const SHUTDOWN_KEYS = keysOf('shutdown');
export const GATEWAY_TIMEOUT_KEYS = keysOf('timeouts');
export const CACHE_KEYS = keysOf('cache');
export const CACHE_TAG_KEYS = keysOf('cache.tags');
export const CACHE_TAG_RULE_KEYS = keysOf('cache.tags.rules[]');
export const AUTHORITY_KEYS = Object.freeze(UPSTREAM_KEYS.filter((key) => !BALANCER_ONLY.includes(key)));
export const CACHE_PARALLEL_KEYS = keysOf('cache.parallel');
export const PREFETCH_KEYS = keysOf('prefetch');
