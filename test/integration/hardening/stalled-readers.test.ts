/**
 * Issue 13, item 2: stalled readers starve no one (relay path, cache off). A client opens blob
 * downloads and never reads them; another client's manifest GET still answers, a blob request
 * that finds every blob connection busy fails over after `timeouts.queue`, `/readyz` says the
 * gateway is saturated, and a client that reads nothing for `timeouts.clientIdle` is cut.
 * Bounds are generous timeouts, never timing assertions.
 */
import { request, type ClientRequest } from 'node:http';
import t, { type Test } from 'tap';
import { MANIFEST_TYPE, startFakeUpstream, type FakeHandler, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

const MANIFEST = JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_TYPE, config: {}, layers: [] });
const BLOB_SIZE = 256 * 1024 * 1024;
const DIGEST = `sha256:${'a'.repeat(64)}`;

/** A registry with an endless-looking blob (written as fast as the gateway takes it) and a manifest. */
const registry: FakeHandler = (req, res) => {
  if (!req.url?.includes('/blobs/')) {
    res.writeHead(200, { 'content-type': MANIFEST_TYPE, 'content-length': Buffer.byteLength(MANIFEST) });
    return void res.end(req.method === 'HEAD' ? undefined : MANIFEST);
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BLOB_SIZE });
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let sent = 0;
  const pump = (): void => {
    while (sent < BLOB_SIZE && !res.destroyed) {
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
};

/** Starts a blob GET and never reads its body; resolves with the request once headers arrived. */
function stalledDownload(url: string): Promise<{ req: ClientRequest; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v2/library/big/blobs/${DIGEST}`, (res) => {
      // Never read: the body stays in the socket until the gateway gives up on us.
      res.pause();
      const closed = new Promise<void>((done) => req.socket?.once('close', () => done()));
      resolve({ req, closed });
    });
    req.on('error', reject);
    req.end();
  });
}

const blobRequests = (upstream: FakeUpstream): number => upstream.requests.filter((r) => r.url.includes('/blobs/')).length;

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting until ${what}`);
}

async function setup(t: Test, extra: string, upstreamExtra = '') {
  const upstream = await startFakeUpstream(registry);
  t.teardown(() => upstream.close());
  const gw = await startGateway(upstreamsYaml([['slow', upstream.url, 1]], `, maxConnections: 4${upstreamExtra}`) + extra);
  t.teardown(() => gw.close());
  const stalled: ClientRequest[] = [];
  t.teardown(() => stalled.forEach((req) => req.destroy()));
  const stall = async (n: number): Promise<Promise<void>[]> => {
    const opened = await Promise.all(Array.from({ length: n }, () => stalledDownload(gw.url)));
    stalled.push(...opened.map(({ req }) => req));
    return opened.map(({ closed }) => closed);
  };
  return { upstream, gw, stall };
}

t.test('a manifest GET answers while every blob connection is held by a client that does not read', async (t) => {
  const { upstream, gw, stall } = await setup(t, '');
  await stall(4);
  t.equal(blobRequests(upstream), 4, 'all four blob connections are taken');
  const res = await fetch(`${gw.url}/v2/library/other/manifests/latest`, { signal: AbortSignal.timeout(20_000) });
  t.equal(res.status, 200);
  t.equal(await res.text(), MANIFEST);
  const head = await fetch(`${gw.url}/v2/library/other/manifests/latest`, { method: 'HEAD', signal: AbortSignal.timeout(20_000) });
  t.equal(head.status, 200, 'and so does a HEAD');
});

t.test('a blob request waits no longer than timeouts.queue for a connection, then fails over; /readyz says 503 meanwhile', async (t) => {
  const other = await startFakeUpstream(registry);
  t.teardown(() => other.close());
  const slow = await startFakeUpstream(registry);
  t.teardown(() => slow.close());
  const yaml =
    upstreamsYaml([['slow', slow.url, 1]], ', maxConnections: 2, timeouts: { queue: 1s }') +
    upstreamsYaml([['spare', other.url, 0]]).replace('upstreams:\n', '');
  const gw = await startGateway(yaml);
  t.teardown(() => gw.close());
  const held = await Promise.all([stalledDownload(gw.url), stalledDownload(gw.url)]);
  t.teardown(() => held.forEach(({ req }) => req.destroy()));
  t.equal((await fetch(`${gw.url}/readyz`)).status, 200, 'busy is not saturated');

  const waiting = fetch(`${gw.url}/v2/library/big/blobs/${DIGEST}`, { signal: AbortSignal.timeout(20_000) });
  await until('the third request waits in the queue', async () => (await fetch(`${gw.url}/readyz`)).status === 503);
  t.pass('/readyz says 503 while a request waits for a connection');
  const res = await waiting.catch((err: unknown) => err);
  t.ok(res instanceof Response, 'the queued request was answered');
  t.equal((res as Response).status, 503, 'failed over (the spare has weight 0, so no upstream was left): a 503 the client retries');
  t.equal(await gw.metric('mirrorgate_failovers_total', { upstream: 'slow', reason: 'queue' }), 1);
  t.equal(await gw.metric('mirrorgate_breaker_state', { upstream: 'slow' }), 0, 'the wait does not count against the upstream');
  await (res as Response).arrayBuffer();
  await until('the queue is empty again', async () => (await fetch(`${gw.url}/readyz`)).status === 200);
  t.pass('/readyz says 200 again');
});

t.test('a client that reads nothing for timeouts.clientIdle is cut, and its upstream connection freed', async (t) => {
  const { upstream, gw, stall } = await setup(t, 'timeouts: { clientIdle: 1s }\n');
  const upstreamClosed = new Promise<void>((resolve) => {
    upstream.handle((req, res) => {
      res.once('close', () => resolve());
      registry(req, res);
    });
  });
  // A paused client never reads the gateway's close either: the gateway's side is what to watch.
  await stall(1);
  let line: Record<string, unknown> | undefined;
  await until('the cut request is logged', () => {
    line = gw.logs().find((entry) => entry['msg'] === 'request' && String(entry['path']).includes('/blobs/'));
    return line !== undefined;
  });
  t.equal(line?.['status'], 499, 'logged as a client that went away');
  t.ok(Number(line?.['bytes']) < BLOB_SIZE, `with what it got (${String(line?.['bytes'])} bytes)`);
  await Promise.race([
    upstreamClosed,
    new Promise((_resolve, reject) => setTimeout(() => reject(new Error('upstream request still open after 15 s')), 15_000)),
  ]);
  t.pass('the upstream request was cancelled: its connection is free');
});
