import t from 'tap';
import { createHash } from 'node:crypto';
import { request, type IncomingMessage } from 'node:http';
import { registryAnswer, registryStatus, startFakeUpstream, trickle } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

/** An upstream whose blob trickles out in 25 chunks, so a download is in flight for ~0.5 s. */
async function tricklingUpstream() {
  const chunks = Array.from({ length: 25 }, (_, i) => Buffer.alloc(4096, i));
  const blob = trickle(chunks, 20);
  const upstream = await startFakeUpstream((req, res) => (req.url?.includes('/blobs/') ? blob(req, res) : registryAnswer('{"from":"a"}')(req, res)));
  const digest = createHash('sha256').update(Buffer.concat(chunks)).digest('hex');
  return { upstream, digest, path: `/v2/library/x/blobs/sha256:${digest}` };
}

function download(url: string): Promise<{ status: number; sha256: string; complete: boolean }> {
  return new Promise((resolve, reject) => {
    request(url, (res: IncomingMessage) => {
      const hash = createHash('sha256');
      res.on('data', (chunk: Buffer) => hash.update(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, sha256: hash.digest('hex'), complete: res.complete }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

t.test('a valid reload swaps weights while an in-flight download finishes on its upstream', async (t) => {
  const { upstream: a, digest, path } = await tricklingUpstream();
  const b = await startFakeUpstream(registryAnswer('{"from":"b"}'));
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const gw = await startGateway(
    upstreamsYaml([
      ['a', a.url, 1],
      ['b', b.url, 0],
    ]),
  );
  t.teardown(() => gw.close());

  const inFlight = download(`${gw.url}${path}`);
  await new Promise((resolve) => setTimeout(resolve, 100));
  // a is removed entirely: its pool must still let the running download finish.
  await gw.writeConfig(upstreamsYaml([['b', b.url, 1]]));
  t.equal(await gw.app.reload(), true);

  const after = await (await fetch(`${gw.url}/v2/x/manifests/v1`)).text();
  t.equal(after, '{"from":"b"}', 'new requests follow the new config');
  const done = await inFlight;
  t.same(done, { status: 200, sha256: digest, complete: true }, 'the download finished whole on the removed upstream');
  t.equal(await gw.metric('mirrorgate_config_reload_total', { result: 'success' }), 1);
  t.equal(await gw.metric('mirrorgate_upstream_weight', { upstream: 'a' }), 0, 'the removed upstream has no weight series');
  t.equal(await gw.metric('mirrorgate_upstream_weight', { upstream: 'b' }), 1);
});

t.test('an invalid reload keeps the running config, logs the problems and counts the error', async (t) => {
  const a = await startFakeUpstream(registryAnswer('{"from":"a"}'));
  t.teardown(() => a.close());
  const gw = await startGateway(upstreamsYaml([['a', a.url, 1]]));
  t.teardown(() => gw.close());

  await gw.writeConfig('upstreams:\n  - { name: a, url: "ftp://nope", weight: -2 }\n');
  t.equal(await gw.app.reload(), false);
  t.equal(await (await fetch(`${gw.url}/v2/x/manifests/v1`)).text(), '{"from":"a"}', 'still serving on the old config');
  t.equal(await gw.metric('mirrorgate_config_reload_total', { result: 'error' }), 1);
  const line = gw.logs().find((l) => l['event'] === 'reload' && l['level'] === 50);
  t.ok(line, 'an error line was logged');
  t.match(JSON.stringify(line?.['problems']), /mirrorgate\.yaml:\d+:\d+ upstreams\[0\]\.url: /);
  t.match(JSON.stringify(line?.['problems']), /upstreams\[0\]\.weight: must be an integer >= 0, got -2/);
});

t.test('unchanged upstreams keep their breaker state across a reload; the cycle restarts with new weights', async (t) => {
  const sick = await startFakeUpstream(registryStatus(500, 'UNKNOWN'));
  const a = await startFakeUpstream(registryAnswer('{"from":"a"}'));
  const b = await startFakeUpstream(registryAnswer('{"from":"b"}'));
  t.teardown(() => Promise.all([sick.close(), a.close(), b.close()]));
  const breaker = 'breaker: { volumeThreshold: 2, resetTimeout: 30s }\n';
  const gw = await startGateway(
    upstreamsYaml([
      ['sick', sick.url, 1],
      ['a', a.url, 1],
    ]) + breaker,
  );
  t.teardown(() => gw.close());
  for (let i = 0; i < 4; i++) await (await fetch(`${gw.url}/v2/x/manifests/v1`)).arrayBuffer();
  t.equal(await gw.metric('mirrorgate_breaker_state', { upstream: 'sick' }), 2);

  await gw.writeConfig(
    upstreamsYaml([
      ['sick', sick.url, 5],
      ['a', a.url, 2],
      ['b', b.url, 1],
    ]) + breaker,
  );
  t.equal(await gw.app.reload(), true);
  t.equal(await gw.metric('mirrorgate_breaker_state', { upstream: 'sick' }), 2, 'still open after the reload');
  const froms: string[] = [];
  for (let i = 0; i < 6; i++) froms.push(((await (await fetch(`${gw.url}/v2/x/manifests/v1`)).json()) as { from: string }).from);
  // With sick skipped, a:2 b:1 from a fresh cycle: a b a a b a.
  t.same(froms, ['a', 'b', 'a', 'a', 'b', 'a']);
  t.equal(sick.requests.length, 2, 'the open breaker kept sick out');
});
