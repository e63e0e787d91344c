import t from 'tap';
import { MirrorSpeed } from '../../../src/balancer/mirror-speed.js';
import { bodiesOneAfterAnother } from '../../helpers/speed-bodies.js';

const MiB = 1024 * 1024;
const HALF_LIFE = 60_000;
/** A half-life for readings that should not fade: every sample counts whole. */
const NO_FADE = Number.POSITIVE_INFINITY;

t.test('nothing measured: no reading', async (t) => {
  const speed = new MirrorSpeed(() => 0);
  t.equal(speed.latency(HALF_LIFE, 0), undefined);
  t.equal(speed.throughput(HALF_LIFE, 0), undefined);
  speed.transferred(0, 1);
  speed.transferred(MiB, 0);
  t.equal(speed.throughput(HALF_LIFE, 0), undefined, 'empty or instant bodies are not samples');
});

t.test('throughput is all bytes over all seconds; latency the mean; evidence in bytes and answers', async (t) => {
  const { speed, body } = bodiesOneAfterAnother();
  body(10 * MiB, 1);
  body(2 * MiB, 1);
  t.same(speed.throughput(HALF_LIFE, 0), { value: 6 * MiB, evidence: 12 * MiB }, '12 MiB in 2 s, not the mean of 10 and 2 MiB/s');
  speed.answered(0.1);
  speed.answered(0.3);
  const latency = speed.latency(HALF_LIFE, 0)!;
  t.ok(Math.abs(latency.value - 0.2) < 1e-12);
  t.equal(latency.evidence, 2);
});

t.test("a sample's say halves every half-life", async (t) => {
  let now = 0;
  const speed = new MirrorSpeed(() => now);
  speed.answered(1);
  now = HALF_LIFE;
  speed.answered(0.1);
  const latency = speed.latency(HALF_LIFE, now)!;
  // weights 0.5 and 1: (0.5·1 + 0.1) / 1.5
  t.ok(Math.abs(latency.value - 0.6 / 1.5) < 1e-12, `${latency.value}`);
  t.ok(Math.abs(latency.evidence - 1.5) < 1e-12);
  t.ok(Math.abs(speed.latency(HALF_LIFE, now + 2 * HALF_LIFE)!.evidence - 1.5 / 4) < 1e-12, 'two half-lives on: a quarter of the evidence');
});

t.test('only the last 32 samples are kept', async (t) => {
  const speed = new MirrorSpeed(() => 0);
  for (let i = 0; i < 32; i++) speed.answered(5);
  for (let i = 0; i < 32; i++) speed.answered(0.5);
  t.same(speed.latency(HALF_LIFE, 0), { value: 0.5, evidence: 32 });
});

t.test("bodies that overlapped shared the mirror's link: its rate is bytes over the seconds it was busy", async (t) => {
  let now = 1000;
  const speed = new MirrorSpeed(() => now);
  // Two 4 MiB bodies over the same second (two clients, or two pieces of one fill): the link moved 8 MiB in 1 s.
  speed.transferred(4 * MiB, 1);
  speed.transferred(4 * MiB, 1);
  t.same(speed.throughput(NO_FADE, now), { value: 8 * MiB, evidence: 8 * MiB }, 'not 4 MiB/s, the rate of each');
  // A third body from 0.5 s to 2 s: alone for its last second. Busy 2 s in all for 14 MiB.
  now = 2000;
  speed.transferred(6 * MiB, 1.5);
  t.equal(speed.throughput(NO_FADE, now)!.value, 7 * MiB, 'a body that ends later still counts in the share of those it overlapped');
});

t.test('the time a body was held paused by its reader is not link time', async (t) => {
  const { speed, body } = bodiesOneAfterAnother();
  body(4 * MiB, 1, 0.2);
  t.equal(speed.throughput(NO_FADE, 1000)!.value, 5 * MiB);
  body(4 * MiB, 1, 1);
  t.equal(speed.throughput(NO_FADE, 2000)!.value, 5 * MiB, 'a body paused all along is no sample');
});
