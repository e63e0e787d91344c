/**
 * A Prometheus histogram whose observe() is a bucket search and three additions. prom-client's
 * Histogram hashes and validates the label object on every observation, even through a cached
 * child; this one resolves the label set once per series and renders at scrape time through
 * the same registry (it implements the registry's metric interface: name, help, type, get()).
 */
import type client from 'prom-client';

export interface HistogramSeries {
  observe(value: number): void;
}

class Series implements HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]!++;
        break;
      }
    }
    this.sum += value;
    this.count++;
  }
}

export class FastHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {}

  /** The series for `key`; `labels` builds its label set the first time. */
  series(key: string, labels: () => Readonly<Record<string, string>>): HistogramSeries {
    let series = this.#series.get(key);
    if (series === undefined) this.#series.set(key, (series = new Series(labels(), this.bounds)));
    return series;
  }

  remove(key: string): void {
    this.#series.delete(key);
  }

  reset(): void {
    this.#series.clear();
  }

  /** In prom-client's exposition shape: cumulative `_bucket`s, then `_sum` and `_count`. */
  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: client.MetricValueWithName<string>[] }> {
    const values: client.MetricValueWithName<string>[] = [];
    for (const series of this.#series.values()) {
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += series.counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...series.labels, le: bound }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...series.labels, le: '+Inf' }, value: series.count });
      values.push({ metricName: `${this.name}_sum`, labels: series.labels, value: series.sum });
      values.push({ metricName: `${this.name}_count`, labels: series.labels, value: series.count });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }
}
