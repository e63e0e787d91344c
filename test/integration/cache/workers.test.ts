/**
 * `workers: 2` with the cache on, through the built CLI: the two worker processes share one
 * cache directory as one cache. Concurrent pulls of a blob spread over both workers make one
 * upstream GET (the other worker's readers follow the first one's spool), repeats are HITs in
 * either worker, and a worker killed mid-fill leaves no spool behind and the next pull whole.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { eventually, freePort, startCli, tempDir } from '../../helpers/cli-process.js';
import { metricSum } from '../../helpers/metrics-text.js';
import { startFakeUpstream, trickle } from '../helpers/fake-upstream.js';

const TIMEOUT = { timeout: 60_000 };
const CHUNKS = Array.from({ length: 16 }, () => randomBytes(64 * 1024));
const BLOB = Buffer.concat(CHUNKS);
const DIGEST = `sha256:${createHash('sha256').update(BLOB).digest('hex')}`;

interface Pull {
  readonly status: number;
  readonly xCache: string | undefined;
  readonly body: Buffer;
  readonly complete: boolean;
}

/** A GET on a fresh connection, so the cluster spreads the pulls over its workers. */
function pull(url: string): Promise<Pull> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    request(url, { agent: false }, (res) => {
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, xCache: res.headers['x-cache'] as string, body: Buffer.concat(chunks), complete: res.complete }),
      );
      res.on('error', () => resolve({ status: res.statusCode ?? 0, xCache: undefined, body: Buffer.concat(chunks), complete: false }));
    })
      .on('error', () => resolve({ status: 0, xCache: undefined, body: Buffer.alloc(0), complete: false }))
      .end();
  });
}

const blobGets = (requests: { method: string; url: string }[]): number => requests.filter((r) => r.method === 'GET' && r.url.includes('/blobs/')).length;

async function startCluster(t: Test, upstreamUrl: string): Promise<{ url: string; dir: string; proc: ReturnType<typeof startCli> }> {
  const dir = await tempDir(t);
  const port = await freePort();
  const file = join(dir, 'mirrorgate.yaml');
  await writeFile(file, `listen: "127.0.0.1:${port}"\nworkers: 2\ncache: { dir: cache }\nupstreams:\n  - { name: u, url: "${upstreamUrl}", weight: 1 }\n`);
  const proc = startCli(t, ['serve', '-c', file, '--no-watch']);
  await proc.waitForLog((line) => line['event'] === 'cluster', { timeoutMs: 15_000, what: 'all workers listening' });
  return { url: `http://127.0.0.1:${port}`, dir: join(dir, 'cache'), proc };
}

t.test('two workers, one cache: 16 concurrent pulls make one upstream GET, repeats are hits in both', TIMEOUT, async (t) => {
  const upstream = await startFakeUpstream(trickle(CHUNKS, 20));
  t.teardown(() => upstream.close());
  const { url, proc } = await startCluster(t, upstream.url);
  const blobUrl = `${url}/v2/library/x/blobs/${DIGEST}`;

  const pulls = await Promise.all(Array.from({ length: 16 }, () => pull(blobUrl)));
  t.equal(blobGets(upstream.requests), 1, 'one upstream GET for the whole cluster');
  for (const [i, p] of pulls.entries()) t.ok(p.status === 200 && p.complete && p.body.equals(BLOB), `pull ${i} got the blob`);
  t.same(pulls.map((p) => p.xCache).sort(), [...Array<string>(15).fill('JOINED'), 'MISS'].sort());
  await eventually(() => proc.logs.filter((line) => line['msg'] === 'request').length >= 16, 'request log lines', 5000);
  const pids = new Set(proc.logs.filter((line) => line['msg'] === 'request').map((line) => line['pid']));
  t.equal(pids.size, 2, 'both workers served the pulls (so one of them followed the other)');

  const again = await Promise.all(Array.from({ length: 6 }, () => pull(blobUrl)));
  t.ok(
    again.every((p) => p.xCache === 'HIT' && p.body.equals(BLOB)),
    'hits in either worker',
  );
  t.equal(blobGets(upstream.requests), 1, 'still one upstream GET');
  const metrics = await (await fetch(`${url}/metrics`)).text();
  t.equal(metricSum(metrics, 'mirrorgate_cache_requests_total', { result: 'miss' }), 1);
  t.equal(metricSum(metrics, 'mirrorgate_cache_requests_total', { result: 'joined' }), 15);
  t.equal(metricSum(metrics, 'mirrorgate_cache_requests_total', { result: 'hit' }), 6);
  t.equal(metricSum(metrics, 'mirrorgate_cache_fills_total', { result: 'committed' }), 1);
});

t.test('a worker killed mid-fill: its spool is removed, its followers are cut, the next pull fills whole', TIMEOUT, async (t) => {
  let slow = true;
  const upstream = await startFakeUpstream((req, res) => trickle(CHUNKS, slow ? 200 : 1)(req, res));
  t.teardown(() => upstream.close());
  const { url, dir, proc } = await startCluster(t, upstream.url);
  const blobUrl = `${url}/v2/library/x/blobs/${DIGEST}`;

  const pulls = Array.from({ length: 4 }, () => pull(blobUrl));
  await eventually(async () => (await readdir(join(dir, 'tmp'))).length === 1, 'a spool in tmp/', 10_000);
  const [spool] = await readdir(join(dir, 'tmp'));
  const ownerPid = Number(spool!.split('.')[1]);
  t.not(ownerPid, proc.pid, 'a worker, not the primary, fills');
  process.kill(ownerPid, 'SIGKILL');
  const cut = await Promise.all(pulls);
  t.ok(
    cut.every((p) => !p.complete || p.body.equals(BLOB)),
    'no pull completed with wrong bytes',
  );
  t.ok(
    cut.some((p) => !p.complete),
    'the readers of the killed fill were cut',
  );
  await eventually(async () => (await readdir(join(dir, 'tmp'))).length === 0, 'the dead worker’s spool removed', 10_000);

  slow = false;
  await eventually(() => proc.logs.filter((line) => line['event'] === 'listening').length >= 3, 'a replacement worker', 15_000);
  const next = await pull(blobUrl);
  t.ok(next.complete && next.body.equals(BLOB), 'the next pull gets the whole blob');
  t.equal(next.xCache, 'MISS', 'filled afresh');
});
