/**
 * Blame for a parallel fill that did not match its digest: a lone contributor is out at once;
 * of several, one implicated twice within the window is out; a mirror that served the blob right
 * on its own is cleared; implications expire with the window; the blob is single-source for it.
 */
import t from 'tap';
import { ParallelMismatches } from '../../../src/cache/parallel-mismatches.js';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let at = 1_000;
  return { now: () => at, advance: (ms) => void (at += ms) };
}

t.test('a fill with one contributor names it outright', async (t) => {
  const m = new ParallelMismatches(60_000, clock().now);
  t.same(m.mismatched('docker.io', 'sha256:a', ['m0']), ['m0']);
});

t.test('of several contributors, a mirror implicated twice is out; the other only once is not', async (t) => {
  const m = new ParallelMismatches(60_000, clock().now);
  t.same(m.mismatched('docker.io', 'sha256:a', ['m0', 'm1']), [], 'a first implication takes no one out');
  t.same(m.mismatched('docker.io', 'sha256:b', ['m1', 'm2']), ['m1'], 'm1 twice: out');
  t.same(m.mismatched('docker.io', 'sha256:c', ['m2', 'm3']), ['m2'], 'm2 twice: out');
  t.same(m.mismatched('docker.io', 'sha256:d', ['m1', 'm3']), ['m3'], 'm1 starts over once taken out; m3 twice');
});

t.test('registries keep their own tallies', async (t) => {
  const m = new ParallelMismatches(60_000, clock().now);
  m.mismatched('docker.io', 'sha256:a', ['m0', 'm1']);
  t.same(m.mismatched('ghcr.io', 'sha256:b', ['m0', 'm1']), [], 'a mirror of the same name elsewhere is not the same mirror');
});

t.test('a mirror cleared by its own matching fetch is not taken out with the liar', async (t) => {
  const m = new ParallelMismatches(60_000, clock().now);
  m.mismatched('docker.io', 'sha256:a', ['honest', 'liar']);
  m.cleared('docker.io', 'honest');
  t.same(m.mismatched('docker.io', 'sha256:b', ['honest', 'liar']), ['liar']);
});

t.test('implications and single-source blobs expire with the window', async (t) => {
  const time = clock();
  const m = new ParallelMismatches(10_000, time.now);
  m.mismatched('docker.io', 'sha256:a', ['m0', 'm1']);
  t.ok(m.singleSource('sha256:a'), 'a mismatched blob is fetched from one mirror');
  t.notOk(m.singleSource('sha256:other'));
  time.advance(10_001);
  t.notOk(m.singleSource('sha256:a'), 'until the window ran out');
  t.same(m.mismatched('docker.io', 'sha256:b', ['m0', 'm1']), [], 'the first implications expired');
});

t.test('the window runs from the first implication, not the last', async (t) => {
  const time = clock();
  const m = new ParallelMismatches(10_000, time.now);
  m.mismatched('docker.io', 'sha256:a', ['m0', 'm1']);
  time.advance(6_000);
  m.mismatched('docker.io', 'sha256:b', ['m2', 'm3']);
  time.advance(6_000);
  t.same(m.mismatched('docker.io', 'sha256:c', ['m0', 'm2']), ['m2'], 'm0 expired 10 s after its first; m2 has not');
});
