import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { registryAnswer, startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

const blob = randomBytes(2 * 1024 * 1024);
const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
const PATH = `/v2/library/x/blobs/${digest}`;

/** Serves the blob with Range support; with `breakAfter`, drops the connection after that many body bytes. */
function blobServer(options: { breakAfter?: number; ignoreRange?: boolean } = {}) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    let start = 0;
    let end = blob.length - 1;
    if (range !== null && options.ignoreRange !== true) {
      start = Number(range[1]);
      end = range[2] === '' ? blob.length - 1 : Number(range[2]);
      res.writeHead(206, {
        'content-range': `bytes ${start}-${end}/${blob.length}`,
        'content-length': end - start + 1,
        'content-type': 'application/octet-stream',
      });
    } else {
      res.writeHead(200, { 'content-length': blob.length, 'content-type': 'application/octet-stream', 'docker-content-digest': digest });
    }
    const body = blob.subarray(start, end + 1);
    if (options.breakAfter === undefined) return void res.end(body);
    res.write(body.subarray(0, options.breakAfter), () => setTimeout(() => req.socket.destroy(), 30));
  };
}

t.test('a blob download that breaks mid-body is finished from another mirror with a Range request', async (t) => {
  const breaks = await startFakeUpstream(blobServer({ breakAfter: 700_000 }));
  const whole = await startFakeUpstream(blobServer());
  t.teardown(() => Promise.all([breaks.close(), whole.close()]));
  const gw = await startGateway(
    upstreamsYaml([
      ['breaks', breaks.url, 5],
      ['whole', whole.url, 1],
    ]),
  );
  t.teardown(() => gw.close());

  const res = await fetch(`${gw.url}${PATH}`);
  t.equal(res.status, 200);
  const body = Buffer.from(await res.arrayBuffer());
  t.equal(body.length, blob.length);
  t.equal(`sha256:${createHash('sha256').update(body).digest('hex')}`, digest, 'the digest of what the client got is right');
  t.equal(whole.requests[0]!.headers.range, `bytes=700000-${blob.length - 1}`, 'the rest was asked for by Range');
  const line = gw.logs().find((l) => l['msg'] === 'request');
  t.match(line, { status: 200, upstream: 'whole', bytes: blob.length, attempts: 2 });
  t.match(JSON.stringify(line), /resuming at byte 700000 elsewhere/);
  t.equal(await gw.metric('mirrorgate_failovers_total', { upstream: 'breaks', reason: 'reset' }), 1);
});

t.test("a client's own Range request is resumed within its range", async (t) => {
  const breaks = await startFakeUpstream(blobServer({ breakAfter: 1000 }));
  const whole = await startFakeUpstream(blobServer());
  t.teardown(() => Promise.all([breaks.close(), whole.close()]));
  const gw = await startGateway(
    upstreamsYaml([
      ['breaks', breaks.url, 5],
      ['whole', whole.url, 1],
    ]),
  );
  t.teardown(() => gw.close());

  const res = await fetch(`${gw.url}${PATH}`, { headers: { range: 'bytes=100000-199999' } });
  t.equal(res.status, 206);
  t.equal(res.headers.get('content-range'), `bytes 100000-199999/${blob.length}`);
  t.ok(Buffer.from(await res.arrayBuffer()).equals(blob.subarray(100_000, 200_000)));
  t.equal(whole.requests[0]!.headers.range, 'bytes=101000-199999');
});

t.test('a mirror that ignores Range cannot continue it: the next one does, or the client is cut', async (t) => {
  const breaks = await startFakeUpstream(blobServer({ breakAfter: 5000 }));
  const ignores = await startFakeUpstream(blobServer({ ignoreRange: true }));
  t.teardown(() => Promise.all([breaks.close(), ignores.close()]));
  const gw = await startGateway(
    upstreamsYaml([
      ['breaks', breaks.url, 5],
      ['ignores', ignores.url, 1],
    ]),
  );
  t.teardown(() => gw.close());

  await t.rejects(async () => {
    const res = await fetch(`${gw.url}${PATH}`);
    await res.arrayBuffer();
  }, 'no mirror could continue: the client sees a cut, never a wrong body');
  t.equal(ignores.requests.length, 1);
  const line = gw.logs().find((l) => l['msg'] === 'request');
  t.match(line, { bytes: 5000, error: /after response headers/ });
});

t.test('manifests are not resumed (a tag may differ between mirrors): a manifest cut mid-body is fetched whole elsewhere', async (t) => {
  const breaks = await startFakeUpstream((req, res) => {
    res.writeHead(200, { 'content-length': 5000, 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
    res.write(Buffer.alloc(100), () => setTimeout(() => req.socket.destroy(), 20));
  });
  const whole = await startFakeUpstream(registryAnswer('{"from":"whole"}'));
  t.teardown(() => Promise.all([breaks.close(), whole.close()]));
  const gw = await startGateway(
    upstreamsYaml([
      ['breaks', breaks.url, 5],
      ['whole', whole.url, 1],
    ]),
  );
  t.teardown(() => gw.close());
  // The gateway holds a manifest until it is whole, so the cut costs the client nothing.
  const res = await fetch(`${gw.url}/v2/library/x/manifests/latest`);
  t.equal(res.status, 200);
  t.equal(await res.text(), '{"from":"whole"}');
  t.equal(whole.requests.length, 1);
  t.equal(whole.requests[0]?.headers.range, undefined, 'asked whole, not resumed with a Range');
});
