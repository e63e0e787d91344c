/**
 * The core promise, end to end: skopeo pulls real images through mirrorgate from three real
 * registries (CNCF distribution) weighted 3:2:1, and keeps pulling while an image exists on one
 * registry only, while a registry is stopped, and while one is frozen (SIGSTOP).
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { createTestCa } from '../helpers/test-ca.js';
import { prepareImages, pushFixtures, type TestImages } from './helpers/fixtures.js';
import { startGatewayProcess, type GatewayProcess } from './helpers/gateway-process.js';
import { startRegistry, type RunningRegistry } from './helpers/registry.js';
import { describeSkopeoResult, pullImage, verifyOciLayout } from './helpers/skopeo.js';
import { tempDir } from './helpers/tmp.js';
import { requireE2eTools } from './helpers/tools.js';

const UPSTREAMS = ['r1', 'r2', 'r3'] as const;

if (requireE2eTools(t)) {
  const work = await tempDir(t, 'mirrorgate-e2e-pulls-');
  let images!: TestImages;
  let registries!: RunningRegistry[];
  let gateway!: GatewayProcess;
  let pulls = 0;
  // A CA made now (openssl); skopeo trusts the *.crt in certDir, the gateway's TLS listener serves a certificate it signed.
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const certDir = join(work, 'certs');
  await mkdir(certDir);
  await copyFile(ca.cert, join(certDir, 'ca.crt'));

  /**
   * One pull through the gateway into a fresh OCI layout; the layout's digest is returned. `tls`:
   * through its TLS listener, skopeo verifying the certificate against the test CA.
   */
  const pull = async (t: Test, ref: string, options: { all?: boolean; tls?: boolean } = {}): Promise<string[] | undefined> => {
    const dest = join(work, `pull-${++pulls}`);
    const endpoint = options.tls === true ? { url: gateway.tlsUrl!, certDir } : { url: gateway.url, certDir: undefined };
    const result = await pullImage(endpoint.url, ref, dest, {
      timeoutMs: 90_000,
      all: options.all,
      ...(endpoint.certDir !== undefined && { certDir: endpoint.certDir }),
    });
    if (result.code !== 0) {
      t.fail(`skopeo pull ${ref} failed: ${describeSkopeoResult(result)}`);
      return undefined;
    }
    return (await verifyOciLayout(dest)).digests;
  };

  /**
   * Pulls (each must succeed) until `upstream`'s breaker reports open (2), at most `limit` times:
   * how soon it opens depends on how many failures fall into the breaker's rolling window.
   */
  const pullUntilOpen = async (t: Test, upstream: string, limit: number, label: string): Promise<{ pulls: number; state: number }> => {
    let count = 0;
    let state = 0;
    while (count < limit && state !== 2) {
      count++;
      t.same(await pull(t, images.alpine.ref), [images.alpine.manifestDigest], `pull ${count} ${label}`);
      state = await gateway.metric('mirrorgate_breaker_state', { upstream });
    }
    return { pulls: count, state };
  };

  const root = t;
  await t.test('three registries with the images, mirrorgate in front (3:2:1)', { timeout: 120_000 }, async (t) => {
    images = await prepareImages(join(work, 'images'));
    registries = await Promise.all(UPSTREAMS.map(() => startRegistry()));
    await Promise.all(registries.map((registry) => pushFixtures(images, registry.url, { only: ['alpine', 'multi'] })));
    await pushFixtures(images, registries[2]!.url, { only: ['onlyOne'] });
    // Registered on the root test: the gateway outlives this subtest.
    gateway = await startGatewayProcess(
      root,
      work,
      `upstreams:
${registries.map((r, i) => `  - { name: ${UPSTREAMS[i]}, url: "${r.url}", weight: ${3 - i}, timeouts: { connect: 2s, headers: 3s, idle: 10s } }`).join('\n')}
breaker: { volumeThreshold: 3, errorThresholdPercentage: 50, window: 5s, resetTimeout: 120s }
failover: { maxAttempts: 3, on404: true }
log: { level: info }
`,
      {},
      ca.server('gateway'),
    );
    t.pass(`gateway on ${gateway.url}, registries on ${registries.map((r) => r.port).join(', ')}`);
  });
  t.teardown(() => Promise.all((registries ?? []).map((registry) => registry.stop())));

  await t.test('pulls spread 3:2:1 over the registries, digests intact; half of them over TLS', { timeout: 240_000 }, async (t) => {
    // The same pulls over both listeners, alternated: TLS (verified against the test CA) changes nothing they prove.
    for (let i = 0; i < 12; i++) {
      const tls = i % 2 === 1;
      t.same(await pull(t, images.alpine.ref, { tls }), [images.alpine.manifestDigest], `pull ${i + 1} of ${images.alpine.ref}${tls ? ' over TLS' : ''}`);
    }
    t.same(await pull(t, images.multi.ref, { all: true }), [images.multi.indexDigest], 'multi-arch index with --all');
    t.same(await pull(t, images.multi.ref, { all: true, tls: true }), [images.multi.indexDigest], 'multi-arch index with --all, over TLS');
    const tlsConnections = await gateway.metric('mirrorgate_tls_connections_total');
    t.ok(
      tlsConnections >= 7,
      `skopeo connected over TLS (${tlsConnections} connections, h2: ${await gateway.metric('mirrorgate_tls_connections_total', { protocol: 'h2' })})`,
    );

    const counts = await Promise.all(UPSTREAMS.map((name) => gateway.metric('mirrorgate_upstream_selected_total', { upstream: name })));
    const total = counts.reduce((a, b) => a + b, 0);
    t.ok(total >= 60, `${total} upstream requests (>= 60)`);
    const expected = [3 / 6, 2 / 6, 1 / 6];
    counts.forEach((count, i) => {
      const share = count / total;
      t.ok(
        Math.abs(share - expected[i]!) <= expected[i]! * 0.1,
        `${UPSTREAMS[i]}: share ${(share * 100).toFixed(1)}% (want ${(expected[i]! * 100).toFixed(1)}% ± 10%)`,
      );
    });
    const served = await Promise.all(UPSTREAMS.map((name) => gateway.metric('mirrorgate_requests_total', { upstream: name })));
    t.same(
      served.map((n) => n > 0),
      [true, true, true],
      'every registry answered requests',
    );
    t.ok((await gateway.metric('mirrorgate_response_bytes_total')) > 12 * 20_000_000, 'the big layer went through 12 times');
  });

  await t.test('an image on one registry only pulls 10 of 10 times', { timeout: 240_000 }, async (t) => {
    let ok = 0;
    for (let i = 0; i < 10; i++) {
      const digests = await pull(t, images.onlyOne.ref);
      if (digests?.[0] === images.onlyOne.manifestDigest) ok++;
    }
    t.equal(ok, 10);
    t.ok((await gateway.metric('mirrorgate_failovers_total', { reason: 'notfound' })) > 0, 'the other registries said 404 and were passed over');
  });

  await t.test('a registry stopped mid-run: pulls keep succeeding and its breaker opens', { timeout: 240_000 }, async (t) => {
    await registries[1]!.stop();
    // The breaker opens on consecutive failures or once the failures outweigh r2's earlier
    // successes in its window. Every pull must succeed meanwhile.
    const { pulls: pullsWithR2Down, state: r2State } = await pullUntilOpen(t, 'r2', 20, 'with r2 down');
    t.equal(r2State, 2, `r2 breaker open after ${pullsWithR2Down} pulls`);
    const selectedBefore = await gateway.metric('mirrorgate_upstream_selected_total', { upstream: 'r2' });
    t.same(await pull(t, images.alpine.ref), [images.alpine.manifestDigest]);
    t.equal(await gateway.metric('mirrorgate_upstream_selected_total', { upstream: 'r2' }), selectedBefore, 'an open breaker keeps r2 out');
    // Three refused connections in a row open it (breaker.consecutiveFailures), or fewer when the
    // error share does first: at least one was counted as a connect failover.
    t.ok((await gateway.metric('mirrorgate_failovers_total', { upstream: 'r2', reason: 'connect' })) >= 1, 'its refused connections counted');
    t.equal((await fetch(`${gateway.url}/readyz`)).status, 200, 'still ready: r1 and r3 are eligible');
  });

  await t.test('a registry frozen with SIGSTOP: pulls still succeed within the timeouts', { timeout: 240_000 }, async (t) => {
    await registries[0]!.freeze();
    t.teardown(() => registries[0]!.thaw());
    // Each request to r1 now takes the 3 s headers timeout, so how many land in the breaker's
    // 5 s window depends on how skopeo overlaps its requests.
    const { pulls: pullsWithR1Frozen, state: r1State } = await pullUntilOpen(t, 'r1', 10, 'with r1 frozen');
    t.ok((await gateway.metric('mirrorgate_failovers_total', { upstream: 'r1', reason: 'timeout' })) >= 1, 'r1 timed out and was failed over');
    t.equal(r1State, 2, `r1 breaker open after repeated timeouts (${pullsWithR1Frozen} pulls)`);
  });
}
