/**
 * The requests of one upstream that wait for a connection of its pools, each for at most `ms`
 * (`timeouts.queue`). undici's headersTimeout starts only once a request is written to a
 * socket, so without this a request queued in a pool whose connections are all held (by
 * clients that stopped reading, issue 13) would wait forever. The count is what `/readyz`
 * reads: undici's own queue still holds the requests that gave up, until their turn comes.
 */
export class ConnectionQueue {
  #waiting = 0;

  constructor(readonly ms: number) {}

  /** Requests waiting now that have not given up. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Starts one request's wait; `giveUp` runs when no connection came within `ms`. Returns what ends the wait (idempotent). */
  wait(giveUp: (ms: number) => void): () => void {
    this.#waiting++;
    let waiting = true;
    const leave = (): void => {
      if (!waiting) return;
      waiting = false;
      clearTimeout(timer);
      this.#waiting--;
    };
    const timer = setTimeout(() => {
      leave();
      giveUp(this.ms);
    }, this.ms);
    return leave;
  }
}
