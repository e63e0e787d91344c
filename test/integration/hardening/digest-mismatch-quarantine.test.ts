/**
 * Issue 13, item 4: a mirror that corrupts a blob is quarantined after one digest mismatch,
 * though its error rate stays far below the breaker's threshold: it gets no further pulls for
 * `breaker.quarantine`, the quarantine is logged once, and the gauge says so.
 */
import { createHash, randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { startFakeUpstream, type FakeHandler } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

const blob = randomBytes(200_000);
const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
const corrupt = Buffer.from(blob);
corrupt[150_000] = corrupt[150_000]! ^ 0xff;

const serve =
  (bytes: Buffer): FakeHandler =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
    res.end(bytes);
  };

/** Reads the whole answer; `complete` is false when the gateway cut it. */
async function pullBlob(url: string): Promise<{ status: number; complete: boolean }> {
  try {
    const res = await fetch(url);
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, complete: body.equals(blob) };
  } catch {
    return { status: 0, complete: false };
  }
}

async function setup(t: Test, quarantine: string) {
  const liar = await startFakeUpstream(serve(corrupt));
  t.teardown(() => liar.close());
  const honest = await startFakeUpstream(serve(blob));
  t.teardown(() => honest.close());
  // An error rate the breaker would never act on: at least 100 requests, above 90 %.
  const breaker = `breaker: { volumeThreshold: 100, errorThresholdPercentage: 90, quarantine: ${quarantine} }\n`;
  const gw = await startGateway(
    upstreamsYaml([
      ['liar', liar.url, 1],
      ['honest', honest.url, 1],
    ]) + breaker,
  );
  t.teardown(() => gw.close());
  return { gw, liar, honest };
}

const blobRequests = (upstream: { requests: { url: string }[] }): number => upstream.requests.filter((r) => r.url.includes('/blobs/')).length;

t.test('one digest mismatch takes the mirror out of rotation, logged once', async (t) => {
  const { gw, liar } = await setup(t, '1h');
  const url = `${gw.url}/v2/library/x/blobs/${digest}`;
  const results = [];
  for (let i = 0; i < 8; i++) results.push(await pullBlob(url));
  t.equal(blobRequests(liar), 1, 'the liar got one pull, then none');
  t.equal(results.filter((r) => !r.complete).length, 1, 'one pull was cut (the client retries it); every other one is whole');
  t.equal(await gw.metric('mirrorgate_upstream_quarantined', { upstream: 'liar' }), 1);
  t.equal(await gw.metric('mirrorgate_upstream_quarantined', { upstream: 'honest' }), 0);
  const logged = gw.logs().filter((line) => line['event'] === 'quarantine' && line['upstream'] === 'liar');
  t.equal(logged.length, 1, 'logged once');
  t.equal(logged[0]?.['quarantined'], true);
});

t.test('quarantine: 0s leaves the mirror in rotation (the breaker alone decides)', async (t) => {
  const { gw, liar } = await setup(t, '0s');
  const url = `${gw.url}/v2/library/x/blobs/${digest}`;
  for (let i = 0; i < 8; i++) await pullBlob(url);
  t.ok(blobRequests(liar) > 1, `the liar kept getting pulls (${blobRequests(liar)})`);
  t.equal(await gw.metric('mirrorgate_upstream_quarantined', { upstream: 'liar' }), 0);
});
