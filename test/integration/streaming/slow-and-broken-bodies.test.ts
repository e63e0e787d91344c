import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { startFakeUpstream, trickle } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

const BLOB = `/v2/library/x/blobs/sha256:${'2'.repeat(64)}`;

t.test('a slow body streams through whole', async (t) => {
  const chunks = Array.from({ length: 8 }, () => randomBytes(16 * 1024));
  const digest = createHash('sha256').update(Buffer.concat(chunks)).digest('hex');
  const slow = await startFakeUpstream(trickle(chunks, 40));
  t.teardown(() => slow.close());
  const gw = await startGateway(upstreamsYaml([['slow', slow.url, 1]], ', timeouts: { idle: 2s }'));
  t.teardown(() => gw.close());

  const res = await fetch(`${gw.url}/v2/library/x/blobs/sha256:${digest}`);
  t.equal(res.status, 200);
  const body = Buffer.from(await res.arrayBuffer());
  t.equal(createHash('sha256').update(body).digest('hex'), createHash('sha256').update(Buffer.concat(chunks)).digest('hex'));
  t.equal(await gw.metric('mirrorgate_response_bytes_total', { upstream: 'slow' }), body.length);
});

t.test('an upstream that goes silent mid-body is cut after the idle timeout; the client sees a short body', async (t) => {
  const stalls = await startFakeUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 1_000_000 });
    res.write(Buffer.alloc(1000));
  });
  t.teardown(() => stalls.close());
  // Unverified, so the client sees the bytes as they come (verification holds back the last chunk).
  const gw = await startGateway(upstreamsYaml([['stalls', stalls.url, 1]], ', timeouts: { idle: 300ms }') + 'verifyDigests: false\n');
  t.teardown(() => gw.close());

  const outcome = await new Promise<{ status: number; received: number; error?: string }>((resolve) => {
    request(`${gw.url}${BLOB}`, (res) => {
      let received = 0;
      res.on('data', (chunk: Buffer) => (received += chunk.length));
      res.on('error', (err) => resolve({ status: res.statusCode ?? 0, received, error: err.message }));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, received }));
    }).end();
  });
  t.equal(outcome.status, 200);
  t.equal(outcome.received, 1000);
  t.ok(outcome.error, `the client connection was cut (${outcome.error})`);
  const line = gw.logs().find((l) => l['msg'] === 'request');
  t.match(line, { upstream: 'stalls', bytes: 1000, error: /timeout after response headers/ });
  t.equal(await gw.metric('mirrorgate_requests_total', { upstream: 'stalls' }), 1);
});

t.test('a reset mid-body cuts the client connection instead of passing off a short blob as whole', async (t) => {
  const resets = await startFakeUpstream((req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 100_000 });
    res.write(Buffer.alloc(5000), () => setTimeout(() => req.socket.destroy(), 20));
  });
  t.teardown(() => resets.close());
  const gw = await startGateway(upstreamsYaml([['resets', resets.url, 1]]));
  t.teardown(() => gw.close());
  await t.rejects(async () => {
    const res = await fetch(`${gw.url}${BLOB}`);
    await res.arrayBuffer();
  });
});
