/**
 * `workers: 2`: a node:cluster of two gateways on one listener. Both serve, /metrics speaks for
 * the whole cluster, SIGHUP reloads every worker, SIGTERM drains them all and exits 0, and a
 * port in use is still one line and exit 1.
 */
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { eventually, freePort, httpGet, startCli, tempDir } from '../../helpers/cli-process.js';
import { metricSum } from '../../helpers/metrics-text.js';
import { registryAnswer, startFakeUpstream } from '../helpers/fake-upstream.js';

const TIMEOUT = { timeout: 60_000 };

/** A GET on a fresh connection each time, so the cluster spreads them over its workers. */
function freshGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve(body));
    })
      .on('error', reject)
      .end();
  });
}

t.test('two workers share the listener, the metrics, reloads and the shutdown', TIMEOUT, async (t) => {
  const a = await startFakeUpstream(registryAnswer('{"from":"a"}'));
  const b = await startFakeUpstream(registryAnswer('{"from":"b"}'));
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const dir = await tempDir(t);
  const file = join(dir, 'mirrorgate.yaml');
  const port = await freePort();
  const config = (wa: number, wb: number): string =>
    `listen: "127.0.0.1:${port}"\nworkers: 2\nupstreams:\n  - { name: a, url: "${a.url}", weight: ${wa} }\n  - { name: b, url: "${b.url}", weight: ${wb} }\n`;
  await writeFile(file, config(1, 0));

  const proc = startCli(t, ['serve', '-c', file, '--no-watch']);
  await proc.waitForLog((line) => line['event'] === 'cluster', { timeoutMs: 15_000, what: 'all workers listening' });
  const url = `http://127.0.0.1:${port}`;

  for (let i = 0; i < 20; i++) t.equal(await freshGet(`${url}/v2/library/x/manifests/v1`), '{"from":"a"}');
  await eventually(() => proc.logs.filter((line) => line['msg'] === 'request').length >= 20, 'request log lines', 5000);
  const servingPids = new Set(proc.logs.filter((line) => line['msg'] === 'request').map((line) => line['pid']));
  t.equal(servingPids.size, 2, 'both workers served requests');

  const metrics = (await httpGet(`${url}/metrics`)).body.toString('utf8');
  t.equal(metricSum(metrics, 'mirrorgate_upstream_selected_total', { upstream: 'a' }), 20, 'one /metrics counts every worker');
  t.equal(metricSum(metrics, 'mirrorgate_upstream_weight', { upstream: 'a' }), 1, 'gauges are not summed across workers');

  await writeFile(file, config(0, 1));
  proc.signal('SIGHUP');
  await eventually(
    async () => {
      const froms = await Promise.all(Array.from({ length: 6 }, () => freshGet(`${url}/v2/library/x/manifests/v1`)));
      return froms.every((from) => from === '{"from":"b"}');
    },
    'every worker reloaded',
    10_000,
  );
  t.pass('every worker reloaded on SIGHUP');

  proc.signal('SIGTERM');
  t.same(await proc.waitForExit(15_000), { code: 0, signal: null }, 'SIGTERM: drained and exited 0');
});

t.test('a port in use: one line, exit 1, no worker left behind', TIMEOUT, async (t) => {
  const squatter = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => squatter.close(() => resolve())));
  const { port } = squatter.address() as AddressInfo;
  const dir = await tempDir(t);
  const file = join(dir, 'mirrorgate.yaml');
  await writeFile(file, `listen: "127.0.0.1:${port}"\nworkers: 2\nupstreams:\n  - { name: a, url: "http://127.0.0.1:9" }\n`);
  const proc = startCli(t, ['serve', '-c', file]);
  t.same(await proc.waitForExit(15_000), { code: 1, signal: null });
  const stderr = proc.stderr.filter((line) => line !== '');
  t.equal(stderr.length, 1, `one line:\n${stderr.join('\n')}`);
  t.match(stderr[0], 'already in use');
});
