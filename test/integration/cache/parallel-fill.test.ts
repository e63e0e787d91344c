/**
 * A big blob filled from several mirrors at once (cache.parallel): pieces by Range from every
 * mirror, split by their speed; a mirror without Range support dropped from the fill; a mirror
 * dying mid-piece replaced; a corrupt piece never committed nor completed, the blob refetched from
 * one mirror, the top one first, and a lying top mirror quarantined; a slow mirror's tail hedged
 * to a faster one. Readers get correct bytes throughout.
 */
import { createHash, randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { eventually } from '../../helpers/cli-process.js';
import { startGateway, upstreamsYaml, type TestGateway } from '../helpers/gateway.js';
import { startRangeMirror, type RangeMirror, type RangeMirrorOptions } from '../helpers/range-mirror.js';

const MiB = 1024 * 1024;
const BLOB = randomBytes(48 * MiB);
const DIGEST = `sha256:${createHash('sha256').update(BLOB).digest('hex')}`;
const CACHE = 'cache: { dir: cache, parallel: { minSize: 16MiB, pieceSize: 4MiB, perMirror: 2 } }\n';

interface Pull {
  readonly status: number;
  readonly xCache: string | null;
  readonly body: Buffer;
  readonly complete: boolean;
}

async function pull(url: string): Promise<Pull> {
  const response = await fetch(url);
  try {
    return { status: response.status, xCache: response.headers.get('x-cache'), body: Buffer.from(await response.arrayBuffer()), complete: true };
  } catch {
    return { status: response.status, xCache: response.headers.get('x-cache'), body: Buffer.alloc(0), complete: false };
  }
}

async function setup(
  t: Test,
  mirrors: readonly (RangeMirrorOptions & { weight: number })[],
  extraYaml = '',
): Promise<{ gw: TestGateway; mirrors: RangeMirror[]; url: string }> {
  const started = await Promise.all(mirrors.map((options) => startRangeMirror(BLOB, DIGEST, options)));
  t.teardown(() => Promise.all(started.map((mirror) => mirror.close())));
  const gw = await startGateway(upstreamsYaml(started.map((mirror, i) => [`m${i}`, mirror.url, mirrors[i]!.weight])) + CACHE + extraYaml);
  t.teardown(() => gw.close());
  return { gw, mirrors: started, url: `${gw.url}/v2/library/x/blobs/${DIGEST}` };
}

const fillLine = (gw: TestGateway): Record<string, unknown> | undefined => gw.logs().find((line) => line['event'] === 'fill');

t.test('three mirrors at 24/16/8 MiB/s share one fill by their speed; two readers get the whole blob', { timeout: 60_000 }, async (t) => {
  const { gw, mirrors, url } = await setup(t, [
    { rate: 24 * MiB, weight: 3 },
    { rate: 16 * MiB, weight: 2 },
    { rate: 8 * MiB, weight: 1 },
  ]);
  const [a, b] = await Promise.all([pull(url), pull(url)]);
  for (const p of [a!, b!]) t.ok(p.status === 200 && p.complete && p.body.equals(BLOB), 'the whole blob');
  t.same([a!.xCache, b!.xCache].sort(), ['JOINED', 'MISS']);
  const sent = mirrors.map((mirror) => mirror.sent());
  t.ok(
    mirrors.every((mirror) => mirror.ranges().length > 0 && mirror.ranges().every((range) => range.startsWith('bytes='))),
    `every mirror got Range GETs: ${mirrors.map((m) => m.ranges().length).join('/')}`,
  );
  t.ok(sent[0]! > sent[2]!, `the fastest mirror sent more than the slowest (${sent.map((n) => (n / MiB).toFixed(1)).join(' / ')} MiB)`);
  t.ok(sent.reduce((x, y) => x + y, 0) < BLOB.length * 1.5, 'hedging cost at most half a blob more');
  const line = fillLine(gw);
  t.equal(line?.['size'], BLOB.length);
  t.equal(
    line?.['pieces'],
    12 + Number(line?.['stolen']),
    'twelve of 4 MiB (the first is the request that learned the size, cut there), and the parts stolen at the end',
  );
  const delivered = await gw.metric('mirrorgate_cache_piece_bytes_total');
  t.ok(delivered >= BLOB.length && delivered <= sent.reduce((x, y) => x + y, 0), `the mirrors' bytes, duplicates of hedged pieces included (${delivered})`);
  t.equal(await gw.metric('mirrorgate_cache_parallel_fill_rate_bytes_per_second_count'), 1, 'the fill rate observed once');
  const rate = (await gw.metric('mirrorgate_cache_parallel_fill_rate_bytes_per_second_sum')) / MiB;
  // The mirrors together send 48 MiB/s; the fill cannot beat that, and anything slower than the slowest alone is broken.
  t.ok(rate > 4 && rate < 56, `its rate is between the slowest mirror's and the sum of all (${rate.toFixed(1)} MiB/s)`);
  t.equal(typeof line?.['seconds'], 'number', 'the fill line has its duration');
  // Each mirror's 206 pieces are its speed samples (its link's rate while busy, overlapping pieces
  // splitting their time), so adaptive weights and the next fill's seeds learn from fills too.
  // The token buckets are shared per mirror: no rate above its link.
  const measured = await Promise.all(['m0', 'm1', 'm2'].map((upstream) => gw.metric('mirrorgate_upstream_measured_throughput_bytes_per_second', { upstream })));
  t.ok(
    measured.every((rate, i) => rate > 0.5 * MiB && rate < [24, 16, 8][i]! * 1.25 * MiB),
    `each mirror's rate measured, at most its link's (${measured.map((r) => (r / MiB).toFixed(1)).join(' / ')} MiB/s)`,
  );
  t.ok(measured[0]! > measured[2]!, 'the fastest measured faster than the slowest');
  const again = await pull(url);
  t.equal(again.xCache, 'HIT');
  t.ok(again.body.equals(BLOB));
});

t.test('a mirror that ignores Range is dropped from the fill after its first answer', { timeout: 60_000 }, async (t) => {
  const { gw, mirrors, url } = await setup(t, [
    { rate: 32 * MiB, weight: 3 },
    { rate: 32 * MiB, weight: 1, noRange: true },
  ]);
  const p = await pull(url);
  t.ok(p.complete && p.body.equals(BLOB), 'the whole blob');
  t.ok(mirrors[1]!.ranges().length <= 2, `asked for its first pieces (perMirror: 2), then no more: ${mirrors[1]!.ranges().length}`);
  t.same(fillLine(gw)?.['dropped'], ['m1']);
  t.ok((await gw.metric('mirrorgate_failovers_total', { upstream: 'm1' })) >= 1, 'its refused answer counts as a failover');
});

t.test('a mirror that resets mid-piece: its pieces continue at the others', { timeout: 60_000 }, async (t) => {
  const { url, mirrors } = await setup(t, [
    { rate: 32 * MiB, weight: 1 },
    { rate: 32 * MiB, weight: 1, resetAfter: MiB },
  ]);
  const p = await pull(url);
  t.ok(p.complete && p.body.equals(BLOB), 'the whole blob');
  t.ok(mirrors[1]!.ranges().length >= 1, 'the resetting mirror was asked');
});

t.test('a corrupt piece: the reader is cut, nothing wrong is stored, and the blob is fetched again from the top mirror', { timeout: 60_000 }, async (t) => {
  const { gw, mirrors, url } = await setup(t, [
    { rate: 32 * MiB, weight: 2 },
    { rate: 32 * MiB, weight: 1, corruptEach: true },
  ]);
  const p = await pull(url);
  t.notOk(p.complete && p.body.equals(BLOB) === false && p.body.length === BLOB.length, 'never a whole wrong blob');
  t.notOk(p.complete, 'the reader is cut before its last byte');
  t.ok((await gw.metric('mirrorgate_failovers_total', { reason: 'digest' })) >= 1, 'the mismatch counts against the mirrors that served pieces');
  const warning = fillLine(gw);
  t.equal(warning?.['mismatched'], true, 'the fill line says the digest did not match');
  t.same(warning?.['implicated'], ['m0', 'm1'], 'and names the mirrors that served it');
  t.same(warning?.['quarantined'], [], 'a first implication of several mirrors takes none out');
  // The refetch runs with no reader: the blob is stored from the top mirror alone.
  await eventually(async () => (await gw.metric('mirrorgate_cache_blobs')) === 1, 'the blob refetched and stored');
  t.equal(mirrors[0]!.ranges().filter((range) => range === '').length, 1, 'one whole-blob GET, to the top mirror');
  t.equal(mirrors[1]!.ranges().filter((range) => range === '').length, 0, 'none to the other');
  const again = await pull(url);
  t.equal(again.xCache, 'HIT');
  t.ok(again.complete && again.body.equals(BLOB), 'the next pull gets the right blob from disk');
  t.equal(await gw.metric('mirrorgate_upstream_quarantined', { upstream: 'm1' }), 0, 'implicated once: still in rotation');
});

t.test('with access rules, the refetched blob is readable by the repository it was fetched for: the next pull is a HIT', { timeout: 60_000 }, async (t) => {
  const { gw, mirrors, url } = await setup(
    t,
    [
      { rate: 32 * MiB, weight: 2 },
      { rate: 32 * MiB, weight: 1, corruptEach: true },
    ],
    'access:\n  rules:\n    - { repositories: ["library/*"], allow: anonymous }\n',
  );
  t.notOk((await pull(url)).complete, 'the reader of the mismatched fill is cut');
  await eventually(async () => (await gw.metric('mirrorgate_cache_blobs')) === 1, 'the blob refetched and stored');
  const gets = mirrors.map((mirror) => mirror.ranges().length);
  const again = await pull(url);
  t.equal(again.xCache, 'HIT', 'from disk: the refetch recorded library/x as a repository the blob was fetched under');
  t.ok(again.complete && again.body.equals(BLOB));
  t.same(
    mirrors.map((mirror) => mirror.ranges().length),
    gets,
    'no mirror asked again',
  );
});

t.test('when the top mirror is the liar, its own refetch quarantines it and the next pull comes from the other', { timeout: 60_000 }, async (t) => {
  const { gw, mirrors, url } = await setup(t, [
    { rate: 32 * MiB, weight: 2, corruptEach: true },
    { rate: 32 * MiB, weight: 1 },
  ]);
  const p = await pull(url);
  t.notOk(p.complete, 'the reader of the parallel fill is cut');
  await eventually(async () => (await gw.metric('mirrorgate_upstream_quarantined', { upstream: 'm0' })) === 1, 'the liar is out of rotation');
  t.equal(mirrors[0]!.ranges().filter((range) => range === '').length, 1, 'after its whole-blob refetch failed its digest');
  t.equal(await gw.metric('mirrorgate_cache_blobs'), 0, 'nothing wrong stored');
  t.equal(await gw.metric('mirrorgate_upstream_quarantined', { upstream: 'm1' }), 0, 'the honest mirror stays in');
  const again = await pull(url);
  t.ok(again.complete && again.body.equals(BLOB), 'the next pull gets the right blob');
  t.equal(again.xCache, 'MISS');
  t.equal(mirrors[1]!.ranges().filter((range) => range === '').length, 1, 'fetched whole from the honest mirror: single-source after a mismatch');
  await eventually(async () => (await gw.metric('mirrorgate_cache_blobs')) === 1, 'and stored');
});

t.test('the tail of a crawling mirror is stolen or hedged by a fast one', { timeout: 60_000 }, async (t) => {
  const { gw, mirrors, url } = await setup(t, [
    { rate: 48 * MiB, weight: 1 },
    { rate: 1 * MiB, weight: 1 },
  ]);
  const p = await pull(url);
  t.ok(p.complete && p.body.equals(BLOB), 'the whole blob');
  const line = fillLine(gw);
  t.ok(Number(line?.['stolen']) + Number(line?.['hedged']) >= 1, `parts stolen or hedged: ${String(line?.['stolen'])} / ${String(line?.['hedged'])}`);
  // Unmeasured, both mirrors start two 4 MiB pieces (equal weights); the crawler keeps only what it fetches at its rate meanwhile.
  t.ok(mirrors[1]!.sent() < 8 * MiB, `the crawler sent less than its first two pieces (${(mirrors[1]!.sent() / MiB).toFixed(1)} MiB)`);
});

t.test('a probe on the slowest mirror keeps one piece: the rest of its range goes to the others', { timeout: 60_000 }, async (t) => {
  // Weight 3 on the slow one: the balancer sends the first request there.
  const { gw, mirrors, url } = await setup(t, [
    { rate: 4 * MiB, weight: 3 },
    { rate: 48 * MiB, weight: 1 },
  ]);
  const p = await pull(url);
  t.ok(p.complete && p.body.equals(BLOB), 'the whole blob');
  t.equal(mirrors[0]!.ranges()[0], `bytes=0-${16 * MiB - 1}`, 'the first request asked for minSize bytes');
  t.ok(mirrors[0]!.sent() < 12 * MiB, `the slow mirror sent far less than minSize (${(mirrors[0]!.sent() / MiB).toFixed(1)} MiB)`);
  t.equal(fillLine(gw)?.['size'], BLOB.length);
});
