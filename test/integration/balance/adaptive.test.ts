/**
 * `balance: { mode: adaptive }` through the real gateway: three mirrors shaped to 24, 12 and
 * 3 MiB/s with equal configured weights. After a round of pulls has measured them, the pulls
 * follow their speeds and /metrics shows what was measured; a reload that keeps the upstreams
 * keeps the measurements; `static` (the default) keeps the configured shares whatever the speeds.
 * Cache off: every pull goes to a mirror.
 */
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { startRangeMirror, type RangeMirror } from '../helpers/range-mirror.js';
import { startGateway, upstreamsYaml, type TestGateway } from '../helpers/gateway.js';

const MiB = 1024 * 1024;
const RATES = [24, 12, 3];
const NAMES = ['fast', 'mid', 'slow'];
const BLOB = randomBytes(2 * MiB);
const DIGEST = `sha256:${createHash('sha256').update(BLOB).digest('hex')}`;
/** Longer than the balancer's refresh (ADAPTIVE_REFRESH_MS, 1 s): the next pick sees what was measured. */
const PAST_REFRESH_MS = 1_200;

interface Setup {
  readonly gw: TestGateway;
  readonly mirrors: RangeMirror[];
  /** The config the gateway started with, less the test preamble. */
  readonly yaml: string;
  pull(n: number): Promise<number[]>;
}

async function setUp(t: Test, mode: 'static' | 'adaptive'): Promise<Setup> {
  const mirrors = await Promise.all(RATES.map((rate) => startRangeMirror(BLOB, DIGEST, { rate: rate * MiB })));
  t.teardown(() => Promise.all(mirrors.map((m) => m.close())));
  const yaml = upstreamsYaml(mirrors.map((m, i) => [NAMES[i]!, m.url, 1])) + `balance: { mode: ${mode}, slowStart: 0s }\n`;
  const gw = await startGateway(yaml);
  t.teardown(() => gw.close());
  const gets = (): number[] => mirrors.map((m) => m.ranges().length);
  /** `n` pulls one after the other, each checked whole; how many of them each mirror served. */
  const pull = async (n: number): Promise<number[]> => {
    const before = gets();
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${gw.url}/v2/library/x/blobs/${DIGEST}`);
      const body = Buffer.from(await res.arrayBuffer());
      if (res.status !== 200 || !body.equals(BLOB)) throw new Error(`pull ${i}: ${res.status}, ${body.length} bytes`);
    }
    return gets().map((after, i) => after - before[i]!);
  };
  return { gw, mirrors, yaml, pull };
}

const weightOf = (gw: TestGateway, upstream: string): Promise<number> => gw.metric('mirrorgate_upstream_effective_weight', { upstream });

t.test('adaptive: once measured, pulls follow the mirrors speeds; a reload keeps what was measured', { timeout: 60_000 }, async (t) => {
  const { gw, mirrors, yaml, pull } = await setUp(t, 'adaptive');
  t.same(await pull(3), [1, 1, 1], 'unmeasured: the configured weights, one pull each');
  await sleep(PAST_REFRESH_MS);
  const served = await pull(30);
  t.ok(served[0]! > served[1]! && served[1]! > served[2]!, `30 pulls at 24/12/3 MiB/s: ${served.join('/')}`);
  // About 17/10/3 at the measured speeds; bounds wide enough for a busy machine, far from static's 10/10/10.
  t.ok(served[2]! <= 7 && served[0]! >= 2 * served[2]!, `the slow mirror got at most 7, and at most half the fast one's: ${served.join('/')}`);

  const measured = await Promise.all(NAMES.map((upstream) => gw.metric('mirrorgate_upstream_measured_throughput_bytes_per_second', { upstream })));
  t.ok(measured[0]! > measured[1]! && measured[1]! > measured[2]!, `measured MiB/s ${measured.map((b) => (b / MiB).toFixed(1)).join(' / ')}`);
  t.ok(measured[2]! < 4.5 * MiB, 'the 3 MiB/s mirror measured as such (±50 %)');
  const weights = await Promise.all(NAMES.map((upstream) => weightOf(gw, upstream)));
  t.equal(weights[0], 1, 'the fastest keeps its configured weight');
  t.ok(weights[1]! < 0.9 && weights[2]! < weights[1]!, `effective weights ${weights.map((w) => w.toFixed(2)).join(' / ')}`);
  t.equal(await gw.metric('mirrorgate_upstream_weight', { upstream: 'slow' }), 1, 'the configured weight is unchanged');

  // A reload that changes nothing about the upstreams' connections keeps them, and their measurements.
  await gw.writeConfig(yaml + 'failover: { maxAttempts: 2 }\n');
  t.equal(await gw.app.reload(), true);
  await sleep(PAST_REFRESH_MS);
  const after = await Promise.all(NAMES.map((upstream) => weightOf(gw, upstream)));
  t.ok(after[2]! < 0.5, `after the reload the slow mirror is still weighed as slow: ${after.map((w) => w.toFixed(2)).join(' / ')}`);

  // New connection settings build new Upstreams; the same URLs hand their measurements on.
  await gw.writeConfig(
    upstreamsYaml(
      mirrors.map((m, i) => [NAMES[i]!, m.url, 1]),
      ', timeouts: { headers: 9s }',
    ) + 'balance: { mode: adaptive, slowStart: 0s }\n',
  );
  t.equal(await gw.app.reload(), true);
  await sleep(PAST_REFRESH_MS);
  const rebuilt = await Promise.all(NAMES.map((upstream) => weightOf(gw, upstream)));
  t.ok(rebuilt[2]! < 0.5, `new Upstreams for the same mirrors: ${rebuilt.map((w) => w.toFixed(2)).join(' / ')}`);
});

t.test('static (the default): the configured shares, whatever the speeds', { timeout: 60_000 }, async (t) => {
  const { gw, pull } = await setUp(t, 'static');
  await pull(3);
  await sleep(PAST_REFRESH_MS);
  t.same(await pull(15), [5, 5, 5]);
  t.equal(await weightOf(gw, 'slow'), 1);
  t.ok((await gw.metric('mirrorgate_upstream_measured_throughput_bytes_per_second', { upstream: 'slow' })) > 0, 'measured all the same');
});
