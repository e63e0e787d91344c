/**
 * Runs the built mirrorgate CLI (`node dist/cli.js serve`) in front of real registries, on a
 * free 127.0.0.1 port, with its JSON log captured, and reads its /metrics.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Test } from 'tap';
import { startCli, httpGet, type CliProcess } from '../../helpers/cli-process.js';
import { metricSum } from '../../helpers/metrics-text.js';
import { freePort } from './registry.js';

export interface GatewayProcess {
  readonly url: string;
  /** host:port, for docker:// references. */
  readonly host: string;
  readonly cli: CliProcess;
  readonly configFile: string;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  metricsText(): Promise<string>;
}

/** `yaml` is everything but `listen:`, which is added with a free port. */
export async function startGatewayProcess(t: Test, dir: string, yaml: string, env: Record<string, string> = {}): Promise<GatewayProcess> {
  const port = await freePort();
  const configFile = join(dir, `mirrorgate-${port}.yaml`);
  await writeFile(configFile, `listen: "127.0.0.1:${port}"\n${yaml}`);
  const cli = startCli(t, ['serve', '-c', configFile, '--no-watch'], { env });
  await cli.listening(15_000);
  const url = `http://127.0.0.1:${port}`;
  const metricsText = async (): Promise<string> => (await httpGet(`${url}/metrics`)).body.toString('utf8');
  return {
    url,
    host: `127.0.0.1:${port}`,
    cli,
    configFile,
    metricsText,
    async metric(name, labels = {}) {
      return metricSum(await metricsText(), name, labels);
    },
  };
}
