import t from 'tap';
import { integerWeights, suggestWeights, MAX_WEIGHT } from '../../../src/cli/probe-weights.js';

t.test('integer weights in proportion to the rates, small, common factors divided out', async (t) => {
  const cases: [number[], number[]][] = [
    [
      [60, 40, 20],
      [3, 2, 1],
    ],
    [
      [58, 41, 19],
      [3, 2, 1],
    ],
    [
      [100, 100],
      [1, 1],
    ],
    [[50], [1]],
    [
      [90, 10],
      [8, 1],
    ],
    [
      [100, 1],
      [10, 1],
    ],
    [
      [30, 20],
      [3, 2],
    ],
    [
      [70, 30],
      [5, 2],
    ],
    [[], []],
  ];
  for (const [rates, expected] of cases) t.same(integerWeights(rates), expected, `${rates.join('/')} → ${expected.join('/')}`);
});

t.test('every weight is between 1 and MAX_WEIGHT and the shares stay close', async (t) => {
  const rates = [123.4, 77.7, 33.3, 9.1];
  const weights = integerWeights(rates);
  t.ok(
    weights.every((w) => Number.isInteger(w) && w >= 1 && w <= MAX_WEIGHT),
    weights.join('/'),
  );
  const sumW = weights.reduce((a, b) => a + b, 0);
  const sumR = rates.reduce((a, b) => a + b, 0);
  rates.forEach((r, i) => t.ok(Math.abs(weights[i]! / sumW - r / sumR) <= 0.05, `share of ${r} within 5 points`));
});

t.test('a mirror that failed every round gets no weight; flaky, backup and unmeasured ones are noted', async (t) => {
  const suggested = suggestWeights([
    { name: 'fast', backup: false, success: 1, mibPerS: 60 },
    { name: 'slow', backup: false, success: 2 / 3, mibPerS: 20 },
    { name: 'dead', backup: false, success: 0, mibPerS: undefined },
    { name: 'spare', backup: true, success: 1, mibPerS: 100 },
    { name: 'blind', backup: false, success: 1, mibPerS: undefined },
  ]);
  t.same(suggested, [
    { name: 'fast', weight: 3 },
    { name: 'slow', weight: 1, note: 'flaky' },
    { name: 'dead', weight: undefined, note: 'down' },
    { name: 'spare', weight: undefined, note: 'backup' },
    { name: 'blind', weight: undefined, note: 'unmeasured' },
  ]);
});

t.test("a backup mirror, however fast, does not change the primaries' weights", async (t) => {
  const primaries = [
    { name: 'a', backup: false, success: 1, mibPerS: 40 },
    { name: 'b', backup: false, success: 1, mibPerS: 20 },
  ];
  const alone = suggestWeights(primaries).map((s) => s.weight);
  const withBackup = suggestWeights([...primaries, { name: 'c', backup: true, success: 1, mibPerS: 400 }]).map((s) => s.weight);
  t.same(alone, [2, 1]);
  t.same(withBackup.slice(0, 2), [2, 1]);
});
