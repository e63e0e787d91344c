/**
 * Hot-path counting without prom-client's work per call (it hashes and validates the label
 * object on every inc(), even through a cached child): a Tally adds plain numbers per label
 * set and folds them into its prom-client counter when Prometheus scrapes.
 */
import type client from 'prom-client';

interface Cell<L extends string> {
  readonly labels: client.LabelValues<L>;
  pending: number;
}

export class Tally<L extends string> {
  readonly #cells = new Map<string, Cell<L>>();
  #counter: client.Counter<L> | undefined;

  /** Set once the counter exists (its `collect` hook calls flush()). */
  bind(counter: client.Counter<L>): this {
    this.#counter = counter;
    return this;
  }

  /** `key` identifies the label set; `labels` builds it, only the first time a key is seen. */
  add(key: string, labels: () => client.LabelValues<L>, n = 1): void {
    let cell = this.#cells.get(key);
    if (cell === undefined) this.#cells.set(key, (cell = { labels: labels(), pending: 0 }));
    cell.pending += n;
  }

  /** Exports the label set at 0 now (unless it is already counting), so it shows before its first event. */
  zero(key: string, labels: () => client.LabelValues<L>): void {
    if (this.#cells.has(key)) return;
    const cell = { labels: labels(), pending: 0 };
    this.#cells.set(key, cell);
    this.#counter?.inc(cell.labels, 0);
  }

  flush(): void {
    const counter = this.#counter;
    if (counter === undefined) return;
    for (const cell of this.#cells.values()) {
      if (cell.pending === 0) continue;
      counter.inc(cell.labels, cell.pending);
      cell.pending = 0;
    }
  }

  /** Folds in and forgets the label sets `drop` selects (an upstream a reload removed). */
  forget(drop: (labels: client.LabelValues<L>) => boolean): void {
    this.flush();
    for (const [key, cell] of this.#cells) if (drop(cell.labels)) this.#cells.delete(key);
  }
}
