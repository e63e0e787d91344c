/**
 * The pino logger, created once in cli.ts and handed to whoever logs. Secrets never reach a
 * line: headers that carry credentials are redacted wherever they appear in a logged object.
 */
import { pino, type Logger, type DestinationStream } from 'pino';
import type { LogLevel } from '../config/types.js';

export type { Logger };

/** Every place a credential could sit in something we log (request/response headers, config). */
export const REDACTED_PATHS = [
  'authorization',
  'cookie',
  'password',
  'token',
  '*.authorization',
  '*.cookie',
  '*.set-cookie',
  '*.password',
  '*.token',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["proxy-authorization"]',
  '*.headers["www-authenticate"]',
];

/**
 * Logs go to stdout asynchronously by default: a synchronous write per request would put a
 * syscall on the hot path. The caller flushes before the process exits (see cli.ts).
 */
export function createLogger(level: LogLevel, destination: DestinationStream = pino.destination({ dest: 1, sync: false })): Logger {
  const options = {
    level,
    base: { service: 'mirrorgate', pid: process.pid },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return pino(options, destination);
}

/**
 * For cluster workers, which share stdout: one write() per line keeps lines whole (a pipe write
 * of up to PIPE_BUF bytes is atomic), where batched async writes could interleave mid-line.
 */
export function lineAtomicStdout(): DestinationStream {
  return pino.destination({ dest: 1, sync: true });
}
