import t from 'tap';
import { parseDuration } from '../../../src/config/duration.js';

t.test('valid durations convert to milliseconds', async (t) => {
  const cases: [string, number][] = [
    ['500ms', 500],
    ['0ms', 0],
    ['0s', 0],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1.5s', 1_500],
    ['0.25m', 15_000],
    ['2.5h', 9_000_000],
    ['0.4ms', 0], // rounded to whole milliseconds
    ['1.6ms', 2],
    ['007s', 7_000],
  ];
  for (const [text, ms] of cases) t.equal(parseDuration(text), ms, text);
});

t.test('invalid durations give undefined', async (t) => {
  const cases = [
    '', // empty
    '10', // no unit
    '1.5', // no unit
    's', // no number
    '-1s', // negative
    '+1s', // sign
    '5 seconds',
    '5 s', // space
    ' 5s',
    '5s ',
    '1m30s', // compound
    '5S', // units are lower case
    '5sec',
    '5d', // no day unit
    '.5s', // no leading digit
    '5.s',
    '1e3ms', // no exponent
    '0x10s',
    'abc',
    'Infinityh',
    '99999999999999999999h', // beyond safe integers
  ];
  for (const text of cases) t.equal(parseDuration(text), undefined, JSON.stringify(text));
});
