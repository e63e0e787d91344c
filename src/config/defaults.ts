/**
 * Values used for every key the file leaves out, typed as the Config holds them. schema.ts
 * lists the same defaults as they are written in the file; a test checks that writing each one
 * out gives the same Config as leaving it out.
 */
import type {
  BalanceConfig,
  BreakerConfig,
  FailoverConfig,
  HealthConfig,
  ListenAddress,
  LogLevel,
  RedirectConfig,
  RedirectMode,
  TimeoutsConfig,
} from './types.js';

export const DEFAULT_LISTEN: ListenAddress = { host: '0.0.0.0', port: 5000 };
/** A listener's `tls.http2` when left out: offered, since Go clients (dockerd, containerd, skopeo) take it. */
export const DEFAULT_LISTEN_HTTP2 = true;

export const DEFAULT_BREAKER: BreakerConfig = {
  errorThresholdPercentage: 50,
  volumeThreshold: 10,
  windowMs: 10_000,
  resetTimeoutMs: 30_000,
  quarantineMs: 5 * 60_000,
  consecutiveFailures: 3,
  slowCallMs: 5_000,
  slowCallRate: 0.5,
};

/** traefik/nginx-style checks: a frozen mirror is out after two failed checks (10-24 s), before a pull has to find out. */
export const DEFAULT_HEALTH: HealthConfig = { path: '/v2/', intervalMs: 10_000, timeoutMs: 2_000, unhealthyAfter: 2, healthyAfter: 2 };

export const DEFAULT_BALANCE: BalanceConfig = { slowStartMs: 30_000, mode: 'static', halfLifeMs: 60_000 };

export const DEFAULT_TIMEOUTS: TimeoutsConfig = { connectMs: 5_000, headersMs: 10_000, idleMs: 60_000, queueMs: 10_000 };

/** Generous: a legitimate client on a slow link still reads something every few minutes. */
export const DEFAULT_CLIENT_IDLE_MS = 5 * 60_000;

export const DEFAULT_UPSTREAM = {
  weight: 1,
  backup: false,
  insecureSkipVerify: false,
  maxConnections: 64,
} as const;

export const REDIRECT_MODES: readonly RedirectMode[] = ['follow', 'passthrough'];
export const DEFAULT_REDIRECTS: RedirectConfig = { mode: 'follow', allowHosts: [], allowPrivate: false };

/** The registry the top-level `upstreams:` serve; it cannot appear under `registries:`. */
export const DEFAULT_REGISTRY = 'docker.io';
/** Docker Hub's names: an upstream URL on one of these hosts defaults to `dockerHub: true`, and none may be a `registries:` key. */
export const DOCKER_HUB_HOSTS: readonly string[] = ['docker.io', 'index.docker.io', 'registry-1.docker.io'];

export const DEFAULT_FAILOVER: FailoverConfig = { maxAttempts: 3, on404: true, hedgeAfterMs: 1_000 };

export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';

export const DEFAULT_DRAIN_TIMEOUT_MS = 25_000;

export const DEFAULT_VERIFY_DIGESTS = true;

export const DEFAULT_WORKERS = 1;

/** `cache:` given as a mapping: a directory beside the config file, 10 GiB, evict from 90 % down to 80 %, tags trusted for a minute. */
export const DEFAULT_PARALLEL = { minSize: 32 * 1024 ** 2, pieceSize: 8 * 1024 ** 2, perMirror: 2 } as const;
export const DEFAULT_CACHE = {
  dir: 'data/cache',
  maxBytes: 10 * 1024 ** 3,
  highWatermark: 0.9,
  lowWatermark: 0.8,
  tagTtlMs: 60_000,
  notFoundTtlMs: 15_000,
} as const;

/** `prefetch:`: every six hours, the first run half a minute after start (the gateway is up and has its config). */
export const DEFAULT_PREFETCH = { everyMs: 6 * 3_600_000, delayMs: 30_000 } as const;
