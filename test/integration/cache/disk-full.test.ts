/**
 * A cache on a volume that is full (a 1 MiB tmpfs the test mounts) never fails a pull: a blob
 * that does not fit is relayed (its fill fails before any reader has headers), the cache goes
 * relay-only and says so once (a log line, a metric), stored blobs are still served, and a fill
 * that fits again ends the condition. Needs root for the mount; skipped otherwise (CI runs as root).
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { eventually, httpGet } from '../../helpers/cli-process.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml, type TestGateway } from '../helpers/gateway.js';

const BIG = randomBytes(3 * 1024 * 1024);
const SMALL = randomBytes(64 * 1024);
const digestOf = (blob: Buffer): string => `sha256:${createHash('sha256').update(blob).digest('hex')}`;
const BLOBS = new Map([digestOf(BIG), digestOf(SMALL)].map((digest, i) => [digest, i === 0 ? BIG : SMALL]));
const isRoot = process.getuid?.() === 0;

const OPTIONS = { skip: !isRoot && 'needs root to mount a tmpfs', timeout: 60_000 };

async function gatewayOnFullVolume(t: Test): Promise<{ gw: TestGateway; blobUrl: (blob: Buffer) => string }> {
  const base = await mkdtemp(join(tmpdir(), 'mirrorgate-full-'));
  const volume = join(base, 'volume');
  await mkdir(volume);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', volume]);
  t.teardown(async () => {
    execFileSync('umount', ['-l', volume]);
    await rm(base, { recursive: true, force: true });
  });
  // One chunked answer (no Content-Length) so that its fill learns the size only by writing.
  const upstream = await startFakeUpstream((req, res) => {
    const digest = /blobs\/(sha256:[a-f0-9]{64})/.exec(req.url ?? '')?.[1];
    const blob = digest === undefined ? undefined : BLOBS.get(digest);
    if (blob === undefined) return void res.writeHead(404).end();
    const chunked = req.headers['x-test-chunked'] === '1';
    res.writeHead(200, { 'content-type': 'application/octet-stream', ...(chunked ? {} : { 'content-length': blob.length }) });
    res.end(blob);
  });
  t.teardown(() => upstream.close());
  const gw = await startGateway(upstreamsYaml([['u', upstream.url, 1]]) + `cache: { dir: "${volume}", maxSize: 10GiB }\n`);
  t.teardown(() => gw.close());
  return { gw, blobUrl: (blob) => `${gw.url}/v2/library/x/blobs/${digestOf(blob)}` };
}

t.test('a full cache volume: pulls are relayed, relay-only is reported once, and a fill that fits ends it', OPTIONS, async (t) => {
  const { gw, blobUrl } = await gatewayOnFullVolume(t);
  const first = await httpGet(blobUrl(BIG), {}, 10_000);
  t.equal(first.status, 200);
  t.ok(first.body.equals(BIG), 'the blob that does not fit is relayed whole');
  t.equal(await gw.metric('mirrorgate_cache_relay_only'), 1, 'relay-only');
  t.equal(await gw.metric('mirrorgate_cache_disk_failures_total', { code: 'ENOSPC' }), 1);

  const chunked = await httpGet(blobUrl(BIG), { 'x-test-chunked': '1' }, 10_000);
  t.ok(chunked.status === 200 && chunked.body.equals(BIG), 'relayed again, without trying the disk');
  t.equal(await gw.metric('mirrorgate_cache_requests_total', { result: 'bypass' }), 1);
  const failures = gw.logs().filter((line) => line['msg'] === 'the cache disk failed: relaying misses until a fill works again');
  t.equal(failures.length, 1, 'said once, not once per pull');
  t.equal(failures[0]?.['code'], 'ENOSPC');

  // Once the retry time has passed, a blob that fits fills, and the condition ends.
  await eventually(
    async () => {
      const pull = await httpGet(blobUrl(SMALL), {}, 10_000);
      return pull.body.equals(SMALL) && pull.headers['x-cache'] === 'MISS';
    },
    'a fill after the retry time',
    20_000,
    500,
  );
  t.equal(await gw.metric('mirrorgate_cache_relay_only'), 0, 'back to caching');
  t.ok(gw.logs().some((line) => line['msg'] === 'the cache disk works again: filling misses'));
  const hit = await httpGet(blobUrl(SMALL));
  t.equal(hit.headers['x-cache'], 'HIT');
  t.ok(hit.body.equals(SMALL));
});

t.test('a blob without a Content-Length that outgrows the volume mid-fill is relayed to its readers, not cut', OPTIONS, async (t) => {
  const { gw, blobUrl } = await gatewayOnFullVolume(t);
  const pulls = await Promise.all([1, 2, 3].map(() => httpGet(blobUrl(BIG), { 'x-test-chunked': '1' }, 10_000)));
  for (const pull of pulls) t.ok(pull.status === 200 && pull.body.equals(BIG), 'the whole blob, relayed');
  t.equal(await gw.metric('mirrorgate_cache_relay_only'), 1);
  t.equal(await gw.metric('mirrorgate_cache_fills_total', { result: 'failed' }), 1);
  t.equal(await gw.metric('mirrorgate_cache_blobs'), 0, 'nothing stored');
});
