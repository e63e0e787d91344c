/** Manifests asked for by digest are kept in memory and on disk once their bytes proved to be that digest. */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { eventually } from '../../helpers/cli-process.js';
import { MANIFEST_TYPE, startFakeUpstream, type FakeHandler } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

const MANIFEST = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_TYPE, config: {}, layers: [] }));
const DIGEST = `sha256:${createHash('sha256').update(MANIFEST).digest('hex')}`;

const serve =
  (body: Buffer): FakeHandler =>
  (req, res) => {
    res.writeHead(200, { 'content-type': MANIFEST_TYPE, 'content-length': body.length, 'docker-content-digest': DIGEST });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

t.test('the second GET and a HEAD of a manifest by digest come from memory', async (t) => {
  const upstream = await startFakeUpstream(serve(MANIFEST));
  t.teardown(() => upstream.close());
  const gw = await startGateway(upstreamsYaml([['u', upstream.url, 1]]) + 'cache: { dir: cache }\n');
  t.teardown(() => gw.close());
  const url = `${gw.url}/v2/library/x/manifests/${DIGEST}`;

  const first = await fetch(url);
  t.equal(first.headers.get('x-cache'), null, 'the first one is relayed');
  t.same(Buffer.from(await first.arrayBuffer()), MANIFEST);
  const second = await fetch(url);
  t.equal(second.headers.get('x-cache'), 'HIT');
  t.equal(second.headers.get('content-type'), MANIFEST_TYPE);
  t.equal(second.headers.get('docker-content-digest'), DIGEST);
  t.same(Buffer.from(await second.arrayBuffer()), MANIFEST);
  const head = await fetch(url, { method: 'HEAD' });
  t.equal(head.headers.get('x-cache'), 'HIT');
  t.equal(head.headers.get('content-length'), String(MANIFEST.length));
  t.equal(upstream.requests.length, 1, 'one upstream request in all');
});

t.test('bytes that are not the digest are never kept (even with verifyDigests off)', async (t) => {
  const upstream = await startFakeUpstream(serve(Buffer.from('{"not":"it"}')));
  t.teardown(() => upstream.close());
  const gw = await startGateway(upstreamsYaml([['u', upstream.url, 1]]) + 'cache: { dir: cache }\nverifyDigests: false\n');
  t.teardown(() => gw.close());
  const url = `${gw.url}/v2/library/x/manifests/${DIGEST}`;
  await (await fetch(url)).arrayBuffer();
  const again = await fetch(url);
  t.equal(again.headers.get('x-cache'), null, 'not from memory');
  await again.arrayBuffer();
  t.equal(upstream.requests.length, 2);
});

t.test('manifests by digest are kept on disk too: a restarted gateway answers them without an upstream', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mirrorgate-manifests-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // An OCI manifest that names no mediaType: read back from disk, its type comes from its shape.
  const bare = Buffer.from(JSON.stringify({ schemaVersion: 2, config: { digest: 'sha256:00' }, layers: [] }));
  const bareDigest = `sha256:${createHash('sha256').update(bare).digest('hex')}`;
  const upstream = await startFakeUpstream((req, res) => {
    const body = req.url?.endsWith(bareDigest) ? bare : MANIFEST;
    res.writeHead(200, { 'content-type': MANIFEST_TYPE, 'content-length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  t.teardown(() => upstream.close());
  const yaml = upstreamsYaml([['u', upstream.url, 1]]) + `cache: { dir: "${dir}" }\n`;
  const first = await startGateway(yaml);
  for (const digest of [DIGEST, bareDigest]) await (await fetch(`${first.url}/v2/library/x/manifests/${digest}`)).arrayBuffer();
  const stored = async (): Promise<number> =>
    (await readdir(join(dir, 'blobs', 'sha256'), { recursive: true })).filter((name) => /[a-f0-9]{64}$/.test(name)).length;
  await eventually(async () => (await stored()) === 2, 'both manifests on disk');
  await first.close();

  const second = await startGateway(yaml);
  t.teardown(() => second.close());
  for (const [digest, body] of [
    [DIGEST, MANIFEST],
    [bareDigest, bare],
  ] as const) {
    const answer = await fetch(`${second.url}/v2/library/x/manifests/${digest}`);
    t.equal(answer.headers.get('x-cache'), 'HIT', 'from disk after the restart');
    t.equal(answer.headers.get('content-type'), MANIFEST_TYPE);
    t.equal(answer.headers.get('docker-content-digest'), digest);
    t.same(Buffer.from(await answer.arrayBuffer()), body);
  }
  t.equal(upstream.requests.length, 2, 'no upstream request after the restart');
});
