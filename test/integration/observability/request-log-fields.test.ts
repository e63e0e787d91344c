/**
 * The request log line says which client pulled what (its address and User-Agent), and a 404
 * passed on whole (every mirror lacked the manifest, on404) counts its body bytes in the line
 * and in mirrorgate_response_bytes_total, as a streamed answer does. The client-side duration
 * histogram counts the request under its route kind.
 */
import t from 'tap';
import { metricSum } from '../../helpers/metrics-text.js';
import { registryAnswer, registryStatus, startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

const requestLines = (logs: Record<string, unknown>[]): Record<string, unknown>[] => logs.filter((line) => line['msg'] === 'request');

t.test('a relayed 404 logs and counts its bytes, with the client and its User-Agent', async (t) => {
  const a = await startFakeUpstream(registryStatus(404, 'MANIFEST_UNKNOWN'));
  const b = await startFakeUpstream(registryStatus(404, 'MANIFEST_UNKNOWN'));
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const gw = await startGateway(
    upstreamsYaml([
      ['a', a.url, 1],
      ['b', b.url, 1],
    ]) + 'cache: false\n',
  );
  t.teardown(() => gw.close());

  const res = await fetch(`${gw.url}/v2/library/nowhere/manifests/v1`, { headers: { 'user-agent': 'containerd/1.7.24' } });
  t.equal(res.status, 404);
  const body = Buffer.from(await res.arrayBuffer());
  t.ok(body.length > 0, 'the 404 has a registry error body');

  const [line] = requestLines(gw.logs());
  t.match(line, { status: 404, client: '127.0.0.1', userAgent: 'containerd/1.7.24', bytes: body.length });
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  t.equal(metricSum(text, 'mirrorgate_response_bytes_total', { registry: 'docker.io' }), body.length, 'counted in response bytes');
  t.equal(metricSum(text, 'mirrorgate_request_duration_seconds_count', { registry: 'docker.io', kind: 'manifest' }), 1, 'one manifest request timed');
});

t.test('a streamed answer and a locally answered request are timed by kind', async (t) => {
  const blob = Buffer.alloc(4096, 7);
  const up = await startFakeUpstream(registryAnswer(blob.toString('latin1')));
  t.teardown(() => up.close());
  const gw = await startGateway(upstreamsYaml([['up', up.url, 1]]) + 'cache: false\nverifyDigests: false\n');
  t.teardown(() => gw.close());

  const res = await fetch(`${gw.url}/v2/library/x/blobs/sha256:${'a'.repeat(64)}`);
  t.equal((await res.arrayBuffer()).byteLength, blob.length);
  t.equal((await fetch(`${gw.url}/v2/`)).status, 200);

  const text = await (await fetch(`${gw.url}/metrics`)).text();
  t.equal(metricSum(text, 'mirrorgate_request_duration_seconds_count', { registry: 'docker.io', kind: 'blob' }), 1);
  t.equal(metricSum(text, 'mirrorgate_request_duration_seconds_bucket', { registry: 'docker.io', kind: 'blob', le: '+Inf' }), 1);
  t.equal(metricSum(text, 'mirrorgate_request_duration_seconds_count', { registry: 'none', kind: 'ping' }), 1, 'the /v2/ ping, answered locally');
  const [blobLine] = requestLines(gw.logs());
  t.match(blobLine, { bytes: blob.length, client: '127.0.0.1' });
  t.equal(typeof blobLine?.['userAgent'], 'string', "fetch's own User-Agent is logged");
});
