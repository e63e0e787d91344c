/**
 * How an attempt learns that its client went away, so the upstream request is cancelled with
 * it. A stand-in for AbortSignal that costs one small object per request: at most one attempt
 * runs at a time for a request, so one listener slot is enough.
 */
export class ClientLink {
  #gone = false;
  #listener: (() => void) | undefined;

  get gone(): boolean {
    return this.#gone;
  }

  /** The running attempt's cancel hook; undefined when it is over. */
  onGone(listener: (() => void) | undefined): void {
    this.#listener = listener;
  }

  markGone(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#listener?.();
  }
}
