import t from 'tap';
import { sharedMs } from '../../../src/balancer/link-share.js';

t.test('spans one after another keep their own time; touching is not overlapping', async (t) => {
  t.same(
    sharedMs([
      { start: 0, end: 100 },
      { start: 100, end: 300 },
    ]),
    [100, 200],
  );
});

t.test('overlapping spans split the time they share, and add up to the busy time', async (t) => {
  // 0–100 alone, 100–200 shared by two, 200–400 alone.
  const shares = sharedMs([
    { start: 0, end: 200 },
    { start: 100, end: 400 },
  ]);
  t.same(shares, [150, 250]);
  t.equal(shares[0]! + shares[1]!, 400);
});

t.test('a span inside another, and three at once', async (t) => {
  t.same(
    sharedMs([
      { start: 0, end: 300 },
      { start: 0, end: 300 },
      { start: 0, end: 300 },
      { start: 400, end: 500 },
    ]),
    [100, 100, 100, 100],
  );
});
