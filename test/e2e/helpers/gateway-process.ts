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
  /** `https://127.0.0.1:PORT` of the TLS listener, when one was asked for. */
  readonly tlsUrl: string | undefined;
  /** Its host:port. */
  readonly tlsHost: string | undefined;
  /** host:port, for docker:// references. */
  readonly host: string;
  readonly cli: CliProcess;
  readonly configFile: string;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  metricsText(): Promise<string>;
}

/**
 * `yaml` is everything but `listen:`, which is added with a free port; with `tls` (a certificate
 * and key), a TLS listener on another free port comes first (the one `client-config` takes), and
 * the plain one, still `url`, second: /metrics stays readable without the CA.
 */
export async function startGatewayProcess(
  t: Test,
  dir: string,
  yaml: string,
  env: Record<string, string> = {},
  tls?: { readonly cert: string; readonly key: string },
): Promise<GatewayProcess> {
  const port = await freePort();
  const tlsPort = tls === undefined ? undefined : await freePort();
  const configFile = join(dir, `mirrorgate-${port}.yaml`);
  const listen =
    tls === undefined
      ? `"127.0.0.1:${port}"`
      : `\n  - { address: "127.0.0.1:${tlsPort}", tls: { cert: "${tls.cert}", key: "${tls.key}" } }\n  - "127.0.0.1:${port}"`;
  await writeFile(configFile, `listen: ${listen}\n${yaml}`);
  const cli = startCli(t, ['serve', '-c', configFile, '--no-watch'], { env });
  await cli.listening(15_000);
  const url = `http://127.0.0.1:${port}`;
  const metricsText = async (): Promise<string> => (await httpGet(`${url}/metrics`)).body.toString('utf8');
  return {
    url,
    tlsUrl: tlsPort === undefined ? undefined : `https://127.0.0.1:${tlsPort}`,
    tlsHost: tlsPort === undefined ? undefined : `127.0.0.1:${tlsPort}`,
    host: `127.0.0.1:${port}`,
    cli,
    configFile,
    metricsText,
    async metric(name, labels = {}) {
      return metricSum(await metricsText(), name, labels);
    },
  };
}
