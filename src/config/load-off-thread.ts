/**
 * `loadConfigFile` in a worker thread, for reloads (issue 13): parsing and validating a file
 * is synchronous work whose cost the file decides, and a reload runs while the gateway serves.
 * On the request thread, a hostile or broken file (a bad ConfigMap update, picked up by the
 * file watcher) would stall every request, `/healthz` included, until a liveness probe
 * restarts the pod. In a worker, serving goes on; a load that takes longer than `timeoutMs`
 * is ended and reported as a failed reload.
 */
import { Worker } from 'node:worker_threads';
import type { Env } from './env.js';
import { ConfigError } from './errors.js';
import { deepFreeze } from './freeze.js';
import type { WorkerReply } from './load-worker.js';
import type { ConfigOverrides } from './overrides.js';
import type { Config, ConfigProblem } from './types.js';

/** Far more than any real file needs (milliseconds), short of a stuck reload. */
const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * The worker's module beside this one: `.js` once built, `.ts` when the sources run under a
 * TypeScript loader (the tests), which the worker inherits with the process's execArgv.
 */
const WORKER = new URL(import.meta.url.endsWith('.ts') ? './load-worker.ts' : './load-worker.js', import.meta.url);

/** `overrides`: what `serve` was told beside the file (`--listen`), applied again at every reload. */
export function loadConfigOffThread(file: string, env: Env, timeoutMs = DEFAULT_TIMEOUT_MS, overrides: ConfigOverrides = {}): Promise<Config> {
  return new Promise<Config>((resolve, reject) => {
    const worker = new Worker(WORKER, { workerData: { file, env: { ...env }, overrides } });
    const timer = setTimeout(() => {
      reject(new ConfigError(file, [{ path: '', line: 1, col: 1, message: `loading the file took longer than ${timeoutMs} ms; it was abandoned` }]));
      void worker.terminate();
    }, timeoutMs);
    worker.once('message', (reply: WorkerReply) => {
      clearTimeout(timer);
      void worker.terminate();
      if (reply.ok) resolve(deepFreeze(reply.config as Config));
      else if ('problems' in reply) reject(new ConfigError(reply.source, reply.problems as ConfigProblem[]));
      else reject(new Error(reply.message));
    });
    worker.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    worker.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the config loader thread exited with code ${code} before answering`));
    });
  });
}
