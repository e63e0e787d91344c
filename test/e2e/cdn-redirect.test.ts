/**
 * Docker Hub's blob redirects, end to end: a Hub-like front (credentials required, so the
 * registry hop carries Authorization) answers every blob request with a 307 to a signed URL on
 * an S3-like CDN that rejects a second auth mechanism (400), bad or expired signatures (403),
 * and serves Range. skopeo pulls real images through mirrorgate in `follow` mode (mirrorgate
 * fetches the CDN itself, without Authorization) and in `passthrough` mode (skopeo follows the
 * redirect itself); a redirect to a private address without allowHosts/allowPrivate is refused.
 */
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { startFakeHub, type FakeHub, type RecordedRequest } from './helpers/fake-hub.js';
import { BIG_LAYER_BYTES, prepareImages, type TestImages } from './helpers/fixtures.js';
import { startGatewayProcess, type GatewayProcess } from './helpers/gateway-process.js';
import { httpGet } from './helpers/http.js';
import { blobPath } from './helpers/oci-image.js';
import { e2eSuite } from './helpers/suite.js';

const suite = await e2eSuite(t, 'cdn');
if (suite !== undefined) {
  const { root, work, pull, pullTo } = suite;
  let images!: TestImages;
  let hub!: FakeHub;
  let alpineDir!: string;
  let bigLayer!: string;
  const gateways: GatewayProcess[] = [];
  t.teardown(() => hub?.close());

  const gateway = async (redirects: string): Promise<GatewayProcess> => {
    const g = await startGatewayProcess(
      root,
      work,
      `upstreams:
  - name: hub
    url: "${hub.frontUrl}"
    auth: { username: ${hub.username}, password: "\${MG_E2E_HUB_PASSWORD}" }
    timeouts: { connect: 2s, headers: 10s, idle: 20s }
redirects: ${redirects}
# The one hub must stay in rotation through the expired-URL failures: no rule opens its breaker.
breaker: { volumeThreshold: 1000, errorThresholdPercentage: 100, window: 10s, resetTimeout: 1s, consecutiveFailures: 0 }
failover: { maxAttempts: 2, on404: true }
log: { level: debug }
`,
      { MG_E2E_HUB_PASSWORD: hub.password },
    );
    gateways.push(g);
    return g;
  };

  const readRange = async (file: string, start: number, length: number): Promise<Buffer> => {
    const handle = await open(file, 'r');
    try {
      const buf = Buffer.alloc(length);
      await handle.read(buf, 0, length, start);
      return buf;
    } finally {
      await handle.close();
    }
  };

  const statuses = (requests: readonly RecordedRequest[]): Record<number, number> => {
    const out: Record<number, number> = {};
    for (const r of requests) out[r.status] = (out[r.status] ?? 0) + 1;
    return out;
  };

  await t.test('a Hub-like front and an S3-like CDN serving the fixture images', { timeout: 120_000 }, async (t) => {
    images = await prepareImages(join(work, 'images'));
    alpineDir = images.list.find((e) => e.key === 'alpine')!.dir;
    const multiDir = images.list.find((e) => e.key === 'multi')!.dir;
    hub = await startFakeHub({
      repositories: [
        { name: images.alpine.name, dir: alpineDir },
        { name: images.multi.name, dir: multiDir },
      ],
      auth: 'basic',
    });
    const bigDigest = images.alpine.layers.find((l) => l.size > BIG_LAYER_BYTES / 2)!.digest;
    bigLayer = blobPath(alpineDir, bigDigest);

    // The fakes behave like the real thing.
    const basic = { authorization: `Basic ${Buffer.from(`${hub.username}:${hub.password}`).toString('base64')}` };
    const blobUrl = `${hub.frontUrl}/v2/${images.alpine.name}/blobs/${bigDigest}`;
    t.equal((await httpGet(blobUrl)).status, 401, 'front: credentials required');
    const redirect = await httpGet(blobUrl, { headers: basic });
    t.equal(redirect.status, 307, 'front: blob -> 307');
    const location = String(redirect.headers['location']);
    t.ok(location.startsWith(`${hub.cdnUrl}/blobs/${bigDigest}?`), 'to a signed CDN URL');
    t.equal((await httpGet(location, { headers: basic })).status, 400, 'CDN: Authorization + signature -> 400');
    t.equal((await httpGet(location.replace(/X-Amz-Signature=[0-9a-f]/, 'X-Amz-Signature=x'))).status, 403, 'CDN: bad signature -> 403');
    const ranged = await httpGet(location, { headers: { range: 'bytes=10-19' } });
    t.equal(ranged.status, 206, 'CDN: Range -> 206');
    t.same(ranged.body, await readRange(bigLayer, 10, 10));
    const manifest = await httpGet(`${hub.frontUrl}/v2/${images.alpine.name}/manifests/${images.alpine.tag}`, { headers: basic });
    t.equal(manifest.status, 200);
    t.equal(manifest.headers['docker-content-digest'], images.alpine.manifestDigest);
    t.equal(manifest.headers['content-type'], images.alpine.manifestMediaType);
  });

  await t.test('follow with allowHosts: mirrorgate fetches the CDN itself, without Authorization', { timeout: 180_000 }, async (t) => {
    const g = await gateway('{ mode: follow, allowHosts: ["127.0.0.1"] }');
    const frontMark = hub.frontRequests.length;
    const cdnMark = hub.cdnRequests.length;
    for (let i = 0; i < 2; i++) {
      t.same(await pull(t, g, images.alpine.ref), [images.alpine.manifestDigest], `pull ${i + 1} of ${images.alpine.ref}`);
    }
    t.same(await pull(t, g, images.multi.ref, true), [images.multi.indexDigest], `${images.multi.ref} with --all`);

    const front = hub.frontRequests.slice(frontMark);
    const cdn = hub.cdnRequests.slice(cdnMark);
    const blobRedirects = front.filter((r) => r.path.includes('/blobs/') && r.status === 307);
    t.ok(blobRedirects.length >= 3, `the front redirected ${blobRedirects.length} blob requests`);
    t.ok(
      blobRedirects.every((r) => r.headers.authorization?.startsWith('Basic ')),
      'the registry hop carried Authorization',
    );
    t.ok(cdn.length >= blobRedirects.length, `the CDN got ${cdn.length} requests`);
    t.same(
      cdn.filter((r) => r.headers.authorization !== undefined),
      [],
      'no CDN request carried Authorization',
    );
    t.same(statuses(cdn), { 200: cdn.length }, 'every CDN request was answered 200 (no 400, no 403)');
    t.ok((await g.metric('mirrorgate_response_bytes_total')) > 2 * BIG_LAYER_BYTES, 'the big layer came through mirrorgate');

    // Range travels over the redirect.
    const cdnBefore = hub.cdnRequests.length;
    const bigDigest = images.alpine.layers.find((l) => l.size > BIG_LAYER_BYTES / 2)!.digest;
    const ranged = await httpGet(`${g.url}/v2/${images.alpine.name}/blobs/${bigDigest}`, { headers: { range: 'bytes=1000000-1000999' }, timeoutMs: 10_000 });
    t.equal(ranged.status, 206, 'ranged blob GET through mirrorgate -> 206');
    t.equal(ranged.headers['content-range'], `bytes 1000000-1000999/${images.alpine.layers.find((l) => l.digest === bigDigest)!.size}`);
    t.same(ranged.body, await readRange(bigLayer, 1_000_000, 1000), 'the right bytes');
    t.same(
      hub.cdnRequests.slice(cdnBefore).map((r) => r.headers.range),
      ['bytes=1000000-1000999'],
      'the CDN saw the Range',
    );
  });

  await t.test('follow with allowPrivate', { timeout: 120_000 }, async (t) => {
    const g = await gateway('{ allowPrivate: true }');
    const cdnMark = hub.cdnRequests.length;
    t.same(await pull(t, g, images.alpine.ref), [images.alpine.manifestDigest]);
    const cdn = hub.cdnRequests.slice(cdnMark);
    t.ok(cdn.length >= 3, `the CDN got ${cdn.length} requests`);
    t.same(
      cdn.filter((r) => r.headers.authorization !== undefined),
      [],
      'none with Authorization',
    );
    t.same(statuses(cdn), { 200: cdn.length });
  });

  await t.test('an expired signed URL fails the pull; fresh ones work again (nothing cached)', { timeout: 120_000 }, async (t) => {
    const g = gateways[0]!;
    const cdnMark = hub.cdnRequests.length;
    hub.ttlSec = -120;
    try {
      const { result } = await pullTo(g, images.alpine.ref);
      t.not(result.code, 0, 'the pull fails while the front hands out expired URLs');
      t.notOk(result.timedOut, 'promptly');
    } finally {
      hub.ttlSec = 60;
    }
    const cdn = hub.cdnRequests.slice(cdnMark);
    t.ok(cdn.length >= 1 && cdn.every((r) => r.status === 403), `the CDN refused them (${JSON.stringify(statuses(cdn))})`);
    t.ok((await g.metric('mirrorgate_failovers_total', { reason: 'redirect' })) >= 1, 'counted as a redirect failure');
    t.same(await pull(t, g, images.alpine.ref), [images.alpine.manifestDigest], 'with fresh signatures the pull works');
  });

  await t.test('passthrough: skopeo follows the redirect itself', { timeout: 120_000 }, async (t) => {
    const g = await gateway('{ mode: passthrough }');
    const bigDigest = images.alpine.layers.find((l) => l.size > BIG_LAYER_BYTES / 2)!.digest;
    const cdnMark = hub.cdnRequests.length;
    const direct = await httpGet(`${g.url}/v2/${images.alpine.name}/blobs/${bigDigest}`, { timeoutMs: 10_000 });
    t.equal(direct.status, 307, 'the client gets the 307');
    const location = String(direct.headers['location']);
    t.ok(location.startsWith(`${hub.cdnUrl}/blobs/${bigDigest}?`) && location.includes('X-Amz-Signature='), 'with the signed CDN Location unchanged');
    t.equal(hub.cdnRequests.length, cdnMark, 'mirrorgate itself did not touch the CDN');

    t.same(await pull(t, g, images.alpine.ref), [images.alpine.manifestDigest]);
    const cdn = hub.cdnRequests.slice(cdnMark);
    t.ok(cdn.length >= 3, `skopeo fetched ${cdn.length} blobs from the CDN`);
    t.same(
      cdn.filter((r) => r.headers.authorization !== undefined),
      [],
      'none with Authorization',
    );
    t.same(statuses(cdn), { 200: cdn.length });
    const bytes = await g.metric('mirrorgate_response_bytes_total');
    t.ok(bytes < BIG_LAYER_BYTES, `the blobs did not go through mirrorgate (${bytes} bytes relayed)`);
  });

  await t.test('a redirect to a private address without allowHosts/allowPrivate is refused', { timeout: 120_000 }, async (t) => {
    const g = await gateway('{ mode: follow }');
    const frontMark = hub.frontRequests.length;
    const cdnMark = hub.cdnRequests.length;
    const { result } = await pullTo(g, images.alpine.ref);
    t.not(result.code, 0, `the pull fails (code ${result.code})`);
    t.notOk(result.timedOut, 'promptly');
    const direct = await httpGet(`${g.url}/v2/${images.alpine.name}/blobs/${images.alpine.configDigest}`, { timeoutMs: 10_000 });
    t.equal(direct.status, 503, 'a blob GET is answered 503');
    t.equal(direct.headers['location'], undefined, 'and no redirect leaks to the client');
    t.ok(
      hub.frontRequests.slice(frontMark).some((r) => r.path.includes('/blobs/') && r.status === 307),
      'the front did redirect',
    );
    t.equal(hub.cdnRequests.length - cdnMark, 0, 'the CDN received zero requests');
    t.ok((await g.metric('mirrorgate_failovers_total', { reason: 'redirect' })) >= 1, 'failover reason "redirect"');
  });

  await t.test('no signed query or hub password in any gateway output', async (t) => {
    t.equal(gateways.length, 4);
    for (const g of gateways) {
      const marker = `/e2e-flush-${randomBytes(6).toString('hex')}`;
      await httpGet(`${g.url}${marker}`);
      await g.cli.waitForLog((l) => l['path'] === marker, { timeoutMs: 5000, what: `the log line of ${marker}` });
      const output = g.cli.output;
      t.notOk(output.includes('X-Amz-Signature'), `${g.url}: no signed query in the output`);
      t.notOk(output.includes(hub.password), `${g.url}: no hub password in the output`);
      t.notOk((await g.metricsText()).includes(hub.password), `${g.url}: no hub password in /metrics`);
    }
  });
}
