/**
 * Slow start, as nginx's `server ... slow_start=30s`: a peer that comes back (its breaker closed,
 * its health check passed again, its quarantine ran out) gets a share of its weight that grows
 * linearly from MIN_SHARE to all of it over `ms`, so a mirror that has just recovered, with cold
 * caches and connections, is not handed its whole share of a fleet's pulls at once. Only a
 * return ramps: peers up from the start get their whole weight at once.
 */
export const MIN_SHARE = 0.05;

export class SlowStart {
  readonly #ms: number;
  readonly #now: () => number;
  /** When each ramping peer came back. */
  readonly #since = new Map<string, number>();

  /** `ms` 0: no ramp. `now` in milliseconds (tests move it). */
  constructor(ms: number, now: () => number = () => performance.now()) {
    this.#ms = ms;
    this.#now = now;
  }

  /** Whether any peer ramps now: while none does, the balancer uses the plain weights. */
  get ramping(): boolean {
    return this.#since.size > 0;
  }

  /** `name` came back just now. */
  began(name: string): void {
    if (this.#ms > 0) this.#since.set(name, this.#now());
  }

  /** `name` went down again, or left. */
  stopped(name: string): void {
    this.#since.delete(name);
  }

  /** The share (MIN_SHARE–1) of its weight `name` gets now; a finished ramp is forgotten. */
  share(name: string): number {
    const since = this.#since.get(name);
    if (since === undefined) return 1;
    const share = (this.#now() - since) / this.#ms;
    if (share >= 1) {
      this.#since.delete(name);
      return 1;
    }
    return Math.max(MIN_SHARE, share);
  }

  /** The ramps of `previous` for the names in `names` (a reload keeps a ramp going). */
  carryOver(previous: SlowStart, names: Iterable<string>): void {
    if (this.#ms === 0) return;
    for (const name of names) {
      const since = previous.#since.get(name);
      if (since !== undefined) this.#since.set(name, since);
    }
  }
}
