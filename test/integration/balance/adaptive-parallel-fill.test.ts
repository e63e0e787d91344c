/**
 * `balance: { mode: adaptive }` on a caching gateway whose big blobs fill in parallel
 * (cache.parallel): every byte comes as `206` pieces, two in flight per mirror. Those pieces are
 * what it measures the mirrors by; without them such a gateway would never learn a rate.
 */
import { createHash, randomBytes } from 'node:crypto';
import t from 'tap';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';
import { startRangeMirror } from '../helpers/range-mirror.js';

const MiB = 1024 * 1024;
const BLOB = randomBytes(48 * MiB);
const DIGEST = `sha256:${createHash('sha256').update(BLOB).digest('hex')}`;
const RATES = [24, 12, 6];

t.test('a parallel fill measures the mirrors it was filled from, fastest first', { timeout: 60_000 }, async (t) => {
  const mirrors = await Promise.all(RATES.map((rate) => startRangeMirror(BLOB, DIGEST, { rate: rate * MiB })));
  t.teardown(() => Promise.all(mirrors.map((m) => m.close())));
  const yaml =
    upstreamsYaml(mirrors.map((m, i) => [`m${RATES[i]}`, m.url, 1])) +
    'cache: { dir: cache, parallel: { minSize: 8MiB, pieceSize: 2MiB, perMirror: 2 } }\n' +
    'balance: { mode: adaptive, slowStart: 0s }\n';
  const gw = await startGateway(yaml);
  t.teardown(() => gw.close());

  const res = await fetch(`${gw.url}/v2/library/x/blobs/${DIGEST}`);
  const body = Buffer.from(await res.arrayBuffer());
  t.ok(res.status === 200 && body.equals(BLOB), 'the whole blob');
  t.ok(
    mirrors.every((m) => m.ranges().length > 0 && m.ranges().every((range) => range.startsWith('bytes='))),
    `filled by Range from every mirror: ${mirrors.map((m) => m.ranges().length).join('/')}`,
  );
  const measured = await Promise.all(RATES.map((rate) => gw.metric('mirrorgate_upstream_measured_throughput_bytes_per_second', { upstream: `m${rate}` })));
  const shown = measured.map((b) => (b / MiB).toFixed(1)).join(' / ');
  t.ok(measured[0]! > 0 && measured[1]! > 0, `the two faster mirrors measured from their pieces alone: ${shown} MiB/s`);
  t.ok(measured[0]! > measured[1]!, `the fastest measured fastest: ${shown} MiB/s`);
});
