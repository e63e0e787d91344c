/**
 * Active health checks of one upstream (issue 12): every `interval`, a GET of `path` (below the
 * upstream's base path) on the upstream's own small pool, with its TLS settings and
 * keep-alive connections, so a check sees what a manifest request would. `unhealthyAfter`
 * failed checks in a row take the upstream out of rotation before a pull has to find out it is
 * frozen; `healthyAfter` passed ones bring it back (then slow start ramps its share).
 *
 * Any answer below 500 but 429 passes: a registry's `/v2/` challenges with 401 (PROTOCOL.md,
 * "Upstream authentication"), a private one may say 403, and either proves it is serving. A
 * 5xx, a 429, a refused or reset connection and no answer within `timeout` fail. The check
 * never goes through the breaker: it is a second source of the same status (status.ts).
 */
import type { Dispatcher } from 'undici';
import type { HealthConfig } from '../config/types.js';

export type HealthReport = (healthy: boolean, detail: string) => void;

export class HealthCheck {
  readonly #dispatcher: Dispatcher;
  readonly #path: string;
  readonly #config: HealthConfig;
  readonly #report: HealthReport;
  #healthy = true;
  /** Checks in a row that disagreed with the current state. */
  #against = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #abort = new AbortController();

  /** `path`: the upstream's base path joined with `config.path`. Starts at once; healthy until checks say otherwise. */
  constructor(dispatcher: Dispatcher, path: string, config: HealthConfig, report: HealthReport) {
    this.#dispatcher = dispatcher;
    this.#path = path;
    this.#config = config;
    this.#report = report;
    this.#schedule(0);
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#abort.abort();
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#check(), ms);
    this.#timer.unref();
  }

  async #check(): Promise<void> {
    const started = performance.now();
    const detail = await this.#probe();
    if (this.#stopped) return;
    this.#judge(detail === undefined, detail ?? 'answered');
    // From the start of this check: a check that timed out does not stretch the interval.
    this.#schedule(Math.max(0, this.#config.intervalMs - (performance.now() - started)));
  }

  /** Undefined when the check passed, else what went wrong. */
  async #probe(): Promise<string | undefined> {
    const timeout = AbortSignal.timeout(this.#config.timeoutMs);
    try {
      const { statusCode, body } = await this.#dispatcher.request({
        method: 'GET',
        path: this.#path,
        headers: { 'user-agent': 'mirrorgate-health' },
        headersTimeout: this.#config.timeoutMs,
        bodyTimeout: this.#config.timeoutMs,
        signal: AbortSignal.any([timeout, this.#abort.signal]),
      });
      await body.dump();
      return statusCode < 500 && statusCode !== 429 ? undefined : `answered ${statusCode}`;
    } catch (err) {
      if (timeout.aborted) return `no answer within ${this.#config.timeoutMs} ms`;
      return err instanceof Error ? err.message : String(err);
    }
  }

  #judge(passed: boolean, detail: string): void {
    if (passed === this.#healthy) {
      this.#against = 0;
      return;
    }
    this.#against++;
    if (this.#against < (passed ? this.#config.healthyAfter : this.#config.unhealthyAfter)) return;
    this.#healthy = passed;
    this.#against = 0;
    this.#report(passed, detail);
  }
}
