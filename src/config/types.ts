/**
 * The validated, frozen shape of mirrorgate's configuration.
 * Durations are already converted to milliseconds; every optional key has its default filled in.
 * Produced only by `parseConfig()` / `loadConfigFile()` in this folder.
 */
import type { Platform } from '../registry/platforms.js';

export type { Platform };

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** A listener's `tls:`: the gateway's certificate, and optionally the CA its clients' certificates must chain to. */
export interface ListenTlsConfig {
  /** Absolute paths (a relative one in the file is resolved against its directory); re-read when the files change. */
  readonly cert: string;
  readonly key: string;
  /** Set: every client must present a certificate signed by one of these CAs (requestCert + rejectUnauthorized). */
  readonly ca?: string;
  /** Offer HTTP/2 by ALPN (HTTP/1.1 stays available). */
  readonly http2: boolean;
}

/** One `listen:` entry: an address, plain HTTP or (with `tls`) HTTPS. */
export interface ListenerConfig extends ListenAddress {
  readonly tls?: ListenTlsConfig;
}

/** `allow:` of an access rule: anyone (a client without credentials included), or these htpasswd users. */
export type AccessAllow = { readonly anonymous: true } | { readonly anonymous: false; readonly users: readonly string[] };

/** One `access.rules` item: who may pull the repositories whose name matches one of `repositories`. */
export interface AccessRule {
  /** Globs over the repository name as the client sends it (`library/nginx`): `*` matches any run of characters, `/` included. */
  readonly repositories: readonly string[];
  /** Registries (as `registries:` names them, `docker.io` for the top-level upstreams) the rule covers; empty: every one. */
  readonly registries: readonly string[];
  readonly allow: AccessAllow;
}

/** `access:`: who may pull what. Absent: everyone may pull everything. */
export interface AccessConfig {
  /** Absolute path of an htpasswd file with bcrypt entries; re-read when it changes. */
  readonly htpasswd?: string;
  /** First match wins; a repository no rule matches is refused to everyone. */
  readonly rules: readonly AccessRule[];
  /** CIDRs the registry API answers; empty: any address. */
  readonly networks: readonly string[];
}

export interface TimeoutsConfig {
  /** TCP (+TLS) connect timeout. */
  readonly connectMs: number;
  /** Time from sending the request to receiving the response headers. */
  readonly headersMs: number;
  /** Longest silence allowed in the middle of a response body. */
  readonly idleMs: number;
  /** Longest a request may wait for a free connection in one of the upstream's pools before it fails over. */
  readonly queueMs: number;
}

export interface TlsConfig {
  readonly insecureSkipVerify: boolean;
  /** Absolute path of a PEM bundle of extra CA certificates, if any (a relative one in the file is resolved against its directory). */
  readonly ca?: string;
}

export interface BreakerConfig {
  readonly errorThresholdPercentage: number;
  readonly volumeThreshold: number;
  /** Rolling window over which failures are counted. */
  readonly windowMs: number;
  /** How long the breaker stays open before letting one trial request through. */
  readonly resetTimeoutMs: number;
  /** How long an upstream that served bytes not matching their digest stays out of rotation; 0: not at all. */
  readonly quarantineMs: number;
  /** Failed or slow calls in a row that open the breaker whatever the request rate; 0: off. */
  readonly consecutiveFailures: number;
  /** A call whose response headers take longer than this counts as slow. */
  readonly slowCallMs: number;
  /** The share (0–1] of slow calls among the last `volumeThreshold` calls that opens the breaker. */
  readonly slowCallRate: number;
}

/** Active health checks of one upstream (`health:`); undefined in UpstreamConfig when off. */
export interface HealthConfig {
  /** Requested below the upstream's base path, e.g. "/v2/". */
  readonly path: string;
  readonly intervalMs: number;
  /** For the whole check: connect, headers and body. */
  readonly timeoutMs: number;
  /** Failed checks in a row that take the upstream out of rotation. */
  readonly unhealthyAfter: number;
  /** Passed checks in a row that bring it back. */
  readonly healthyAfter: number;
}

/** How one registry's balancer shares requests (`balance:`). */
export interface BalanceConfig {
  /** An upstream that comes back ramps from a small share to its weight over this long; 0: at once. */
  readonly slowStartMs: number;
  /** `static`: the configured weights; `adaptive`: weights that follow measured speed, capped by the configured ones. */
  readonly mode: BalanceMode;
  /** Adaptive: how fast a measurement fades (its say halves in this long). */
  readonly halfLifeMs: number;
}

export const BALANCE_MODES = ['static', 'adaptive'] as const;
export type BalanceMode = (typeof BALANCE_MODES)[number];

/** Credentials mirrorgate presents to one upstream (Basic, or to its token realm). */
export interface AuthConfig {
  readonly username: string;
  /** Exactly one of password / passwordFile is set. */
  readonly password?: string;
  /**
   * Absolute path (a relative one in the file is resolved against its directory). Read when a token
   * is fetched, so a rotated secret file is picked up without a reload.
   */
  readonly passwordFile?: string;
}

export type RedirectMode = 'follow' | 'passthrough';

export interface RedirectConfig {
  /** follow: the gateway fetches the Location itself; passthrough: the client gets the 30x. */
  readonly mode: RedirectMode;
  /** Hosts (lowercase, exact match) a redirect may point to even when they resolve to private addresses. */
  readonly allowHosts: readonly string[];
  /** Allow redirects to loopback/private/link-local/metadata addresses (tests, internal CDNs). */
  readonly allowPrivate: boolean;
}

export interface UpstreamConfig {
  /** Unique, [a-z0-9-]+ */
  readonly name: string;
  /** Normalised base URL without trailing slash, e.g. "https://registry-1.docker.io" or "https://nexus.corp/repository/hub". */
  readonly url: string;
  /** Integer >= 0; 0 = drained. */
  readonly weight: number;
  readonly backup: boolean;
  readonly tls: TlsConfig;
  readonly timeouts: TimeoutsConfig;
  readonly maxConnections: number;
  /** The global `breaker:` defaults merged with this upstream's own `breaker:` overrides. */
  readonly breaker: BreakerConfig;
  readonly auth?: AuthConfig;
  /** The global `redirects:` defaults merged with this upstream's own `redirects:` overrides. */
  readonly redirects: RedirectConfig;
  /** The global `health:` merged with this upstream's own; undefined: no active checks (`health: false`). */
  readonly health: HealthConfig | undefined;
  /** One-component names mean `library/<name>` here (Docker Hub). Default: true when the host is registry-1.docker.io. */
  readonly dockerHub: boolean;
  /** Prepended to every repository name upstream, e.g. "docker" for ECR Public's Docker Hub mirror. No slashes at the ends. */
  readonly repositoryPrefix?: string;
}

/** One registry served by the gateway and the upstreams that mirror it. */
export interface RegistryConfig {
  /** The registry's name as clients know it: "docker.io", "ghcr.io", "quay.io"... */
  readonly name: string;
  /** Host names (lowercase, without port) under which clients reach this registry on the gateway. */
  readonly hosts: readonly string[];
  readonly upstreams: readonly UpstreamConfig[];
  /** The global `balance:` merged with this registry's own. */
  readonly balance: BalanceConfig;
  /**
   * Where tags are resolved (a HEAD by tag, for its digest) before the content is fetched by digest
   * from `upstreams`: the source registry, whose tags are current while mirrors lag. Its `weight`
   * and `backup` are the defaults and mean nothing (it is never balanced).
   */
  readonly authority?: UpstreamConfig;
}

/** One `cache.tags.rules` item: tags whose `repository:tag` matches `match` are fresh for `ttlMs`. */
export interface TagTtlRule {
  /** A glob over `repository:tag`; `*` matches any run of characters, `/` and `:` included. */
  readonly match: string;
  readonly ttlMs: number;
}

export interface FailoverConfig {
  /** Upstreams tried per request, each at most once. */
  readonly maxAttempts: number;
  /** Treat a 404 as "try the next mirror"; the client sees 404 only when every tried upstream said 404. */
  readonly on404: boolean;
  /** A manifest or HEAD not answered after this long is also sent to a second upstream, first answer wins; undefined: no hedging. */
  readonly hedgeAfterMs?: number | undefined;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface ShutdownConfig {
  /** How long in-flight requests may run after SIGTERM before the process exits anyway. */
  readonly drainTimeoutMs: number;
}

/** The blob cache on local disk (`cache:`). */
export interface CacheConfig {
  /** Absolute: resolved against the config file's directory. */
  readonly dir: string;
  readonly maxBytes: number;
  /** Fractions of maxBytes: eviction starts above the high one and goes down to the low one. */
  readonly highWatermark: number;
  readonly lowWatermark: number;
  /** How long a tag's digest is served without asking an upstream; `0` asks every time. */
  readonly tagTtlMs: number;
  /** Overrides of tagTtlMs by pattern, first match wins. */
  readonly tagRules: readonly TagTtlRule[];
  /** How long every upstream's (or the authority's) 404 for a tag is answered without asking again; `0` never remembers one. */
  readonly notFoundTtlMs: number;
  /** Big blobs fetched in pieces from several mirrors at once; undefined: `cache.parallel: false`. */
  readonly parallel: ParallelFillConfig | undefined;
}

export interface ParallelFillConfig {
  /** Blobs bigger than this are fetched in pieces (bytes). */
  readonly minSize: number;
  readonly pieceSize: number;
  /** Pieces in flight per mirror. */
  readonly perMirror: number;
}

/** One image `prefetch:` warms, resolved to the registry that serves it. */
export interface PrefetchImage {
  /** A registry the config serves ("docker.io", "ghcr.io"). */
  readonly registry: string;
  /** The repository as clients ask for it (`library/nginx` on Docker Hub). */
  readonly name: string;
  /** A tag, or a digest. */
  readonly reference: string;
  /** `registry/name:tag`, for logs and progress. */
  readonly text: string;
}

/** `prefetch:`: images pulled into the cache on a schedule. */
export interface PrefetchConfig {
  readonly images: readonly PrefetchImage[];
  /** Taken from an index; the host's by default. */
  readonly platforms: readonly Platform[];
  readonly everyMs: number;
  /** From start to the first run. */
  readonly delayMs: number;
  /** Cap on the bytes per second the prefetch's fills fetch; undefined: no cap. */
  readonly bytesPerSecond?: number;
}

export interface Config {
  /** The file this config was read from (for messages and reloads). */
  readonly source: string;
  /** Every listener, in file order; a `listen:` string is one plain listener. Changing them needs a restart. */
  readonly listen: readonly ListenerConfig[];
  /** Undefined: no `access:`, every client may pull everything. A reload applies a changed one. */
  readonly access: AccessConfig | undefined;
  /** The default registry's (docker.io) upstreams: the top-level `upstreams:` list. */
  readonly upstreams: readonly UpstreamConfig[];
  /**
   * Every registry served, the default one first: { name: "docker.io", hosts: [], upstreams }
   * followed by the `registries:` map in file order.
   */
  readonly registries: readonly RegistryConfig[];
  readonly redirects: RedirectConfig;
  readonly breaker: BreakerConfig;
  /** The global health check settings; undefined: `health: false`. */
  readonly health: HealthConfig | undefined;
  readonly balance: BalanceConfig;
  readonly failover: FailoverConfig;
  /**
   * Hash content addressed by digest (blobs, manifests by digest) while it streams, and cut
   * the client's connection instead of completing a response whose bytes do not match.
   */
  readonly verifyDigests: boolean;
  /** Undefined: no cache, every request is relayed. Changing it needs a restart. */
  readonly cache: CacheConfig | undefined;
  /** Undefined: no prefetch. A reload applies a changed one. */
  readonly prefetch: PrefetchConfig | undefined;
  /** Processes serving the listener (node:cluster); 1 = no cluster. Changing it needs a restart. */
  readonly workers: number;
  /** Longest a client may leave a response unread (the socket backpressured) before it is cut. */
  readonly clientIdleMs: number;
  readonly log: { readonly level: LogLevel };
  readonly shutdown: ShutdownConfig;
}

/** One validation problem, positioned in the source file (1-based line and column). */
export interface ConfigProblem {
  /** Key path such as `upstreams[1].weight`; empty for document-level problems. */
  readonly path: string;
  readonly line: number;
  readonly col: number;
  readonly message: string;
}
