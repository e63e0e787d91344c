/**
 * `workers: N` — the primary process of a node:cluster. It serves nothing itself: it forks the
 * workers (which share the listening socket; the primary hands out connections round-robin),
 * answers their requests for cluster-wide metrics, forwards SIGHUP, turns SIGTERM/SIGINT into a
 * drain of every worker, and replaces a worker that dies.
 *
 * With the cache on, the workers share its directory as one cache: the primary routes their
 * fill claims (cache-peers.ts), so a blob is fetched once for the whole cluster.
 *
 * Each worker runs its own balancer and breakers: every worker keeps the exact nginx sequence
 * over the requests it gets, so the shares hold over the whole cluster too (each worker sends
 * upstream `a` exactly w_a of every Σw of its picks), but consecutive requests from one client
 * may interleave differently, and a failing upstream needs volumeThreshold failures in each
 * worker before every breaker is open.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../observability/logger.js';
import { serveClusterMetrics } from '../observability/cluster-metrics.js';
import { routeCachePeers } from './cache-peers.js';

/** A worker that could not start tells the primary why, instead of each printing it. */
export const WORKER_FATAL = 'mirrorgate:worker-fatal';

export interface WorkerFatal {
  readonly type: typeof WORKER_FATAL;
  readonly line: string;
  readonly code: number;
}

/**
 * Tells the primary (when there is one) that this worker cannot start, then calls `sent`;
 * false when not clustered.
 */
export function reportWorkerFatal(line: string, code: number, sent: () => void): boolean {
  if (!cluster.isWorker || process.send === undefined) return false;
  process.send({ type: WORKER_FATAL, line, code } satisfies WorkerFatal, undefined, {}, sent);
  return true;
}

const RESTART_DELAY_MS = 1000;
/** How long past the drain timeout the primary waits before killing a worker that hangs. */
const KILL_GRACE_MS = 5000;

export function runPrimary(options: { workers: number; drainTimeoutMs: number; logger: Logger; cacheDir?: string | undefined }): void {
  const { logger } = options;
  serveClusterMetrics();
  let stopping = false;
  let failed = false;
  const started = new Set<Worker>();

  const fork = (): void => {
    cluster.fork();
  };
  cluster.on('listening', (worker) => {
    started.add(worker);
    if (started.size === options.workers) logger.info({ event: 'cluster', workers: options.workers }, `all ${options.workers} workers listening`);
  });
  cluster.on('message', (worker, message: Partial<WorkerFatal>) => {
    if (message.type !== WORKER_FATAL || failed) return;
    // A worker that cannot start (port in use, bad upstream) means none can: stop them all.
    failed = true;
    process.stderr.write(`${message.line}\n`);
    for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGKILL');
    process.exit(message.code ?? 1);
  });
  cluster.on('exit', (worker, code, signal) => {
    started.delete(worker);
    if (stopping || failed) {
      if (Object.keys(cluster.workers ?? {}).length === 0) logger.flush(() => process.exit(0));
      return;
    }
    logger.error({ event: 'cluster', pid: worker.process.pid, code, signal }, 'worker died; starting a new one');
    setTimeout(fork, RESTART_DELAY_MS).unref();
  });

  process.on('SIGHUP', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGHUP');
  });
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ event: 'shutdown', signal }, 'shutting down: draining every worker');
    const workers = Object.values(cluster.workers ?? {});
    if (workers.length === 0) process.exit(0);
    for (const worker of workers) worker?.process.kill('SIGTERM');
    setTimeout(() => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
    }, options.drainTimeoutMs + KILL_GRACE_MS).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  const forkAll = (): void => {
    for (let i = 0; i < options.workers; i++) fork();
  };
  if (options.cacheDir === undefined) return forkAll();
  // The workers share the cache directory: its fills are claimed through this process.
  routeCachePeers(options.cacheDir).then(forkAll, (err: unknown) => {
    logger.error({ event: 'cache', dir: options.cacheDir, err }, 'cannot prepare the cache directory; the workers will relay without it');
    forkAll();
  });
}
