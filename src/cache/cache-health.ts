/**
 * Whether the cache's disk works. A fill that fails for a disk reason (full, EIO, read-only, a
 * broken directory) puts the cache into relay-only mode: misses are relayed instead of filled,
 * while stored blobs are still served. The condition is reported once (not once per pull), and
 * after `retryMs` the next miss tries a fill again; its commit ends the condition.
 */

/** Error codes that mean the disk, not the content or the upstream, failed. */
const DISK_CODES = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EROFS', 'EACCES', 'EPERM', 'ENOTDIR', 'ENOENT', 'EMFILE', 'ENFILE', 'EFBIG']);

/** The fill would not fit on the volume (checked before its first byte, from its Content-Length). */
export class DiskFullError extends Error {
  readonly code = 'ENOSPC';
}

export function isDiskError(err: unknown): err is Error & { code: string } {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && DISK_CODES.has(code);
}

export type HealthReport =
  { readonly state: 'failing'; readonly code: string; readonly message: string } | { readonly state: 'recovered'; readonly code: string };

export class CacheHealth {
  #failing: string | undefined;
  #retryAt = 0;

  constructor(
    private readonly report: (event: HealthReport) => void = () => undefined,
    private readonly retryMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The condition now, e.g. 'ENOSPC'; undefined while the disk works. */
  get failing(): string | undefined {
    return this.#failing;
  }

  /** Whether a miss may start a fill: the disk works, or it is time to try it again. */
  get mayFill(): boolean {
    return this.#failing === undefined || this.now() >= this.#retryAt;
  }

  /** A disk operation failed: relay-only for `retryMs`; reported when the condition is new. */
  failed(err: Error & { code: string }): void {
    if (this.#failing !== err.code) this.report({ state: 'failing', code: err.code, message: err.message });
    this.#failing = err.code;
    this.#retryAt = this.now() + this.retryMs;
  }

  /** A fill committed: the disk works again. */
  worked(): void {
    if (this.#failing === undefined) return;
    this.report({ state: 'recovered', code: this.#failing });
    this.#failing = undefined;
  }
}
