/**
 * `prefetch:` inside the gateway: the first run `delay` after start, then one `every` after the
 * previous run ended (runs never overlap). Images go one after another; a failing image is
 * logged and counted, and the next one goes on. A reload hands in the new `prefetch:`: a changed
 * one is run `delay` after the reload (the current run finishes on the old list), a removed one
 * stops. `stop()` (shutdown) aborts the run in progress and resolves once it has ended.
 */
import type { PrefetchConfig } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { TokenBucket } from '../stream/paced-sink.js';
import { prefetchImage, type ImageReport, type ImageSource } from './prefetch.js';

export interface PrefetchScheduleDeps {
  readonly logger: Logger;
  readonly metrics: Pick<Metrics, 'prefetchImage' | 'prefetchRun'>;
  /** The source of one run; `bucket` is the run's bandwidth cap. */
  source(bucket: TokenBucket | undefined): ImageSource;
}

const MiB = 1024 * 1024;

export class PrefetchSchedule {
  #config: PrefetchConfig | undefined;
  #timer: NodeJS.Timeout | undefined;
  #run: { readonly abort: AbortController; readonly done: Promise<ImageReport[]> } | undefined;
  #stopped = false;
  /** The timer fired during a run (a reload changed the list): run again as soon as it ends. */
  #again = false;

  constructor(private readonly deps: PrefetchScheduleDeps) {}

  /** The `prefetch:` in effect (at start, and after each reload). */
  apply(config: PrefetchConfig | undefined): void {
    if (this.#stopped || JSON.stringify(config) === JSON.stringify(this.#config)) return;
    this.#config = config;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (config === undefined) {
      this.#run?.abort.abort();
      return;
    }
    this.#schedule(config.delayMs);
  }

  /** Runs the list now (unless a run is going: then that one's reports). */
  runNow(): Promise<ImageReport[]> {
    const config = this.#config;
    if (this.#run !== undefined) return this.#run.done;
    if (config === undefined || this.#stopped) return Promise.resolve([]);
    const abort = new AbortController();
    const done = this.#runAll(config, abort.signal).finally(() => {
      this.#run = undefined;
      const current = this.#config;
      if (!this.#stopped && current !== undefined && this.#timer === undefined) this.#schedule(this.#again ? 0 : current.everyMs);
      this.#again = false;
    });
    this.#run = { abort, done };
    return done;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#run?.abort.abort();
    await this.#run?.done.catch(() => undefined);
  }

  #schedule(ms: number): void {
    // unref: a pending prefetch never keeps a process alive that is otherwise done.
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#run !== undefined) this.#again = true;
      else void this.runNow();
    }, ms).unref();
  }

  async #runAll(config: PrefetchConfig, signal: AbortSignal): Promise<ImageReport[]> {
    const { logger, metrics } = this.deps;
    const source = this.deps.source(config.bytesPerSecond === undefined ? undefined : new TokenBucket(config.bytesPerSecond));
    logger.info({ event: 'prefetch', images: config.images.length }, `prefetch: warming ${config.images.length} images`);
    const reports: ImageReport[] = [];
    for (const image of config.images) {
      if (signal.aborted) break;
      const report = await prefetchImage(source, image, config.platforms, signal).catch((err: unknown): ImageReport => ({
        image: image.text,
        layers: 0,
        blobs: 0,
        fetchedBytes: 0,
        cachedBytes: 0,
        seconds: 0,
        errors: [String(err)],
        missingPlatforms: [],
      }));
      reports.push(report);
      metrics.prefetchImage(report.errors.length === 0 ? 'ok' : 'error', report.fetchedBytes, report.cachedBytes);
      logReport(logger, report);
    }
    const failed = reports.filter((report) => report.errors.length > 0).length;
    const complete = !signal.aborted && failed === 0;
    metrics.prefetchRun(complete ? 'success' : 'error', Date.now() / 1000);
    logger.info({ event: 'prefetch', images: reports.length, failed }, `prefetch: done, ${failed} of ${reports.length} images failed`);
    return reports;
  }
}

/** One line per image: what it took, what it cost, what went wrong. */
export function logReport(logger: Logger, report: ImageReport): void {
  const { image, layers, fetchedBytes, cachedBytes, seconds, errors, missingPlatforms } = report;
  const fields = { event: 'prefetch', image, layers, fetchedBytes, cachedBytes, seconds: Number(seconds.toFixed(3)), errors, missingPlatforms };
  const summary = `${layers} layer${layers === 1 ? '' : 's'}, ${(fetchedBytes / MiB).toFixed(1)} MiB fetched, ${(cachedBytes / MiB).toFixed(1)} MiB already cached, ${seconds.toFixed(1)} s`;
  if (errors.length === 0) logger.info(fields, `prefetched ${image}: ${summary}`);
  else logger.warn(fields, `prefetch of ${image} failed: ${errors.join('; ')} (${summary})`);
}
