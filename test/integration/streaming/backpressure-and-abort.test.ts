import t from 'tap';
import { request, type IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

const BLOB = `/v2/library/x/blobs/sha256:${'3'.repeat(64)}`;
const CHUNK = Buffer.alloc(64 * 1024, 7);
const TOTAL = 512 * 1024 * 1024;

/** An upstream that writes a huge body only as fast as its socket drains, counting what it wrote. */
async function endlessBlob() {
  const state = { written: 0, closed: false };
  const upstream = await startFakeUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': TOTAL });
    res.on('close', () => (state.closed = true));
    const pump = (): void => {
      while (state.written < TOTAL && !state.closed) {
        state.written += CHUNK.length;
        if (!res.write(CHUNK)) return void res.once('drain', pump);
      }
      if (state.written >= TOTAL) res.end();
    };
    pump();
  });
  return { upstream, state };
}

function openResponse(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => request(url, resolve).on('error', reject).end());
}

t.test('a client that stops reading stops the upstream: nothing is buffered beyond socket windows', async (t) => {
  const { upstream, state } = await endlessBlob();
  t.teardown(() => upstream.close());
  const gw = await startGateway(upstreamsYaml([['big', upstream.url, 1]]));
  t.teardown(() => gw.close());

  const res = await openResponse(`${gw.url}${BLOB}`);
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-length'], String(TOTAL));
  res.pause();
  await sleep(800);
  const stalledAt = state.written;
  await sleep(400);
  t.equal(state.written, stalledAt, 'the upstream is paused while the client is');
  // Kernel socket buffers on loopback plus one chunk in flight: a few MiB, never the whole blob.
  t.ok(stalledAt < 32 * 1024 * 1024, `upstream wrote ${(stalledAt / 1048576).toFixed(1)} MiB of 512 before pausing`);

  res.resume();
  let received = 0;
  await new Promise<void>((resolve) => {
    res.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received >= 64 * 1024 * 1024) {
        res.destroy();
        resolve();
      }
    });
  });
  t.ok(state.written > stalledAt, 'the upstream resumed with the client');
});

t.test('a client that hangs up aborts the upstream request', async (t) => {
  const { upstream, state } = await endlessBlob();
  t.teardown(() => upstream.close());
  const gw = await startGateway(upstreamsYaml([['big', upstream.url, 1]]));
  t.teardown(() => gw.close());

  const res = await openResponse(`${gw.url}${BLOB}`);
  await new Promise((resolve) => res.once('data', resolve));
  res.destroy();
  for (let i = 0; i < 50 && !state.closed; i++) await sleep(20);
  t.ok(state.closed, 'the upstream saw its request end');
  t.ok(state.written < TOTAL, 'long before the body was complete');
  await sleep(50);
  const line = gw.logs().find((l) => l['msg'] === 'request');
  t.match(line, { status: 499, upstream: 'big' });
  t.equal(await gw.metric('mirrorgate_inflight_requests'), 0);
  t.equal(await gw.metric('mirrorgate_breaker_state', { upstream: 'big' }), 0, "a client's hang-up is not the upstream's fault");
});

t.test("clients hanging up never open the upstream's breaker", async (t) => {
  // A fresh endless body per request (endlessBlob() serves one download).
  const upstream = await startFakeUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': TOTAL });
    let closed = false;
    res.on('close', () => (closed = true));
    const pump = (): void => {
      while (!closed) if (!res.write(CHUNK)) return void res.once('drain', pump);
    };
    pump();
  });
  t.teardown(() => upstream.close());
  const gw = await startGateway(upstreamsYaml([['big', upstream.url, 1]]) + 'breaker: { volumeThreshold: 2, errorThresholdPercentage: 10 }\n');
  t.teardown(() => gw.close());
  for (let i = 0; i < 5; i++) {
    const res = await openResponse(`${gw.url}${BLOB}`);
    await new Promise((resolve) => res.once('data', resolve));
    res.destroy();
    await sleep(30);
  }
  t.equal(await gw.metric('mirrorgate_breaker_state', { upstream: 'big' }), 0, 'still closed after 5 hang-ups');
  t.equal(await gw.metric('mirrorgate_failovers_total'), 0, 'and no failover was counted');
  t.equal(gw.logs().filter((l) => l['status'] === 499).length, 5);
});
