/**
 * The worker thread side of `loadConfigOffThread` (load-off-thread.ts): loads one config file
 * and posts the Config, or the problems found, back. A Config is plain data, so it crosses
 * the thread boundary by structured clone.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ConfigError, loadConfigFile } from './load.js';
import type { Env } from './env.js';
import type { ConfigOverrides } from './overrides.js';

export type WorkerReply =
  | { readonly ok: true; readonly config: unknown }
  | { readonly ok: false; readonly source: string; readonly problems: unknown }
  | { readonly ok: false; readonly message: string };

const { file, env, overrides } = workerData as { file: string; env: Env; overrides: ConfigOverrides };

loadConfigFile(file, env, overrides).then(
  (config) => parentPort?.postMessage({ ok: true, config } satisfies WorkerReply),
  (err: unknown) => {
    const reply: WorkerReply =
      err instanceof ConfigError
        ? { ok: false, source: err.source, problems: err.problems }
        : { ok: false, message: err instanceof Error ? err.message : String(err) };
    parentPort?.postMessage(reply);
  },
);
