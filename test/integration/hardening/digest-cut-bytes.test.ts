/**
 * Issue 13, item 4: when the digest check cuts a blob, the held-back final chunk never left
 * the gateway, so neither the log line's `bytes` nor mirrorgate_response_bytes_total counts it.
 */
import { createHash, randomBytes } from 'node:crypto';
import t from 'tap';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

const blob = randomBytes(300_000);
const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
const corrupt = Buffer.from(blob);
corrupt[10] = corrupt[10]! ^ 0xff;
/** The body is sent in two parts with a pause between, so the last part arrives as chunks of its own. */
const SPLIT = 200_000;

t.test('a cut blob is counted without its held-back last chunk', async (t) => {
  const liar = await startFakeUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': corrupt.length });
    res.write(corrupt.subarray(0, SPLIT));
    setTimeout(() => res.end(corrupt.subarray(SPLIT)), 200);
  });
  t.teardown(() => liar.close());
  const gw = await startGateway(upstreamsYaml([['liar', liar.url, 1]]));
  t.teardown(() => gw.close());

  await fetch(`${gw.url}/v2/library/x/blobs/${digest}`).then(
    (res) => res.arrayBuffer().catch(() => undefined),
    () => undefined,
  );
  // The log line is written once the gateway has settled the request.
  let line: Record<string, unknown> | undefined;
  for (let i = 0; i < 100 && line === undefined; i++) {
    line = gw.logs().find((entry) => entry['msg'] === 'request' && String(entry['path']).includes('/blobs/'));
    if (line === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const bytes = Number(line?.['bytes']);
  t.ok(bytes >= SPLIT / 2 && bytes < corrupt.length, `the log line counts what was sent (${bytes} of ${corrupt.length})`);
  t.match(String(line?.['error']), /digest/, 'the line says the digest check cut it');
  t.equal(await gw.metric('mirrorgate_response_bytes_total', { upstream: 'liar' }), bytes, 'the byte counter agrees with the log line');
});
