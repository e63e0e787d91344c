/**
 * Runs a real mirrorgate app in the test process on 127.0.0.1:0, configured from YAML text
 * (through the real config parser), with its log lines captured for assertions.
 */
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseConfig } from '../../../src/config/load.js';
import { createLogger } from '../../../src/observability/logger.js';
import { createMetrics, type Metrics } from '../../../src/observability/metrics.js';
import { createApp, type App } from '../../../src/server/app.js';

export interface TestGateway {
  readonly app: App;
  readonly url: string;
  readonly metrics: Metrics;
  readonly configFile: string;
  /** Parsed JSON log lines so far. */
  logs(): Record<string, unknown>[];
  /** The value of one metric series, e.g. metric('mirrorgate_failovers_total', {upstream: 'a', reason: 'connect'}); a histogram's by its _count or _sum. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** Rewrites the config file (for reload tests). */
  writeConfig(yaml: string): Promise<void>;
  close(): Promise<void>;
}

/** Every test gateway listens on a free port, logs everything, and drains briefly on close; health checks are off (they would add requests to every fake upstream's count), a test of them turns them on per upstream. */
const PREAMBLE = 'listen: "127.0.0.1:0"\nlog: { level: debug }\nshutdown: { drainTimeout: 500ms }\nhealth: false\n';

/**
 * `now`: the clock the tag caches read, for tests that move time instead of waiting. `listen`:
 * YAML for the `listen:` value instead of `"127.0.0.1:0"` (a TLS listener); `url` is the first one's.
 * `beforeStart`: writes files the config names (relative to the config's folder, `dir`).
 */
export async function startGateway(
  yaml: string,
  options: { now?: () => number; listen?: string; beforeStart?: (dir: string) => Promise<void> } = {},
): Promise<TestGateway> {
  const dir = await mkdtemp(join(tmpdir(), 'mirrorgate-it-'));
  await options.beforeStart?.(dir);
  const configFile = join(dir, 'mirrorgate.yaml');
  const preamble = options.listen === undefined ? PREAMBLE : PREAMBLE.replace('"127.0.0.1:0"', options.listen);
  const withListen = preamble + yaml;
  await writeFile(configFile, withListen);
  const config = parseConfig(withListen, configFile, process.env);
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((line) => line !== ''),
      );
      callback();
    },
  });
  const metrics = createMetrics();
  const app = createApp(config, { logger: createLogger(config.log.level, sink), metrics, ...(options.now !== undefined && { now: options.now }) });
  const [address] = await app.listen();
  return {
    app,
    url: `${address!.tls ? 'https' : 'http'}://127.0.0.1:${address!.port}`,
    metrics,
    configFile,
    logs: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    async metric(name, labels = {}) {
      // A histogram's _count and _sum are series of the histogram's own name.
      const base = metrics.registry.getSingleMetric(name) === undefined ? name.replace(/_(count|sum)$/, '') : name;
      const metric = metrics.registry.getSingleMetric(base);
      if (metric === undefined) return 0;
      const { values } = await metric.get();
      const wanted = Object.entries(labels);
      const series = values.filter(
        (value: { metricName?: string; labels: Record<string, unknown> }) =>
          (value.metricName ?? base) === name && wanted.every(([key, want]) => String(value.labels[key]) === want),
      );
      return series.reduce((sum, value) => sum + value.value, 0);
    },
    async writeConfig(text) {
      await writeFile(configFile, preamble + text);
    },
    async close() {
      await app.shutdown();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** YAML for an upstream list: [name, url, weight] triples plus shared extra keys. */
export function upstreamsYaml(upstreams: [string, string, number][], extra = ''): string {
  const items = upstreams.map(([name, url, weight]) => `  - { name: ${name}, url: "${url}", weight: ${weight}${extra} }`);
  return `upstreams:\n${items.join('\n')}\n`;
}
