/**
 * /metrics with `workers: N`: each worker process counts its own requests, but a scrape lands
 * on one worker. That worker asks the primary, which gathers every worker's metrics through
 * prom-client's AggregatorRegistry (counters summed; gauges per their aggregator) and answers.
 */
import cluster from 'node:cluster';
import client from 'prom-client';

const ASK = 'mirrorgate:metrics-request';
const ANSWER = 'mirrorgate:metrics-response';

interface Ask {
  readonly type: typeof ASK;
  readonly id: number;
}
interface Answer {
  readonly type: typeof ANSWER;
  readonly id: number;
  readonly text?: string;
  readonly error?: string;
}

/** In the primary: answer workers' requests for the whole cluster's metrics. */
export function serveClusterMetrics(): void {
  const aggregator = new client.AggregatorRegistry();
  cluster.on('message', (worker, message: Partial<Ask>) => {
    if (message.type !== ASK || typeof message.id !== 'number') return;
    const id = message.id;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: ANSWER, id, text } satisfies Answer),
      (err: unknown) => worker.send({ type: ANSWER, id, error: (err as Error).message } satisfies Answer),
    );
  });
}

/**
 * In a worker: offer `registry` to the primary's aggregation, and return how to render the
 * cluster-wide text.
 */
export function clusterMetricsRenderer(registry: client.Registry): () => Promise<string> {
  // Constructing one installs prom-client's worker-side listener; setRegistries picks ours.
  new client.AggregatorRegistry();
  client.AggregatorRegistry.setRegistries([registry]);
  let next = 0;
  const waiting = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void }>();
  process.on('message', (message: Partial<Answer>) => {
    if (message.type !== ANSWER || typeof message.id !== 'number') return;
    const pending = waiting.get(message.id);
    if (pending === undefined) return;
    waiting.delete(message.id);
    if (message.error !== undefined) pending.reject(new Error(`cluster metrics: ${message.error}`));
    else pending.resolve(message.text ?? '');
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve, reject });
      process.send?.({ type: ASK, id } satisfies Ask);
    });
}
