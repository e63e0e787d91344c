/** Values used for every key the file leaves out (see the schema comment in load.ts). */
import type { BreakerConfig, FailoverConfig, ListenAddress, LogLevel, TimeoutsConfig } from './types.js';

export const DEFAULT_LISTEN: ListenAddress = { host: '0.0.0.0', port: 5000 };

export const DEFAULT_BREAKER: BreakerConfig = {
  errorThresholdPercentage: 50,
  volumeThreshold: 10,
  windowMs: 10_000,
  resetTimeoutMs: 30_000,
};

export const DEFAULT_TIMEOUTS: TimeoutsConfig = { connectMs: 5_000, headersMs: 30_000, idleMs: 60_000 };

export const DEFAULT_UPSTREAM = {
  weight: 1,
  backup: false,
  insecureSkipVerify: false,
  maxConnections: 64,
} as const;

export const DEFAULT_FAILOVER: FailoverConfig = { maxAttempts: 3, on404: true };

export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';

export const DEFAULT_DRAIN_TIMEOUT_MS = 25_000;
