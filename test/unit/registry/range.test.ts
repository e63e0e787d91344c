import t from 'tap';
import { parseByteRange } from '../../../src/registry/range.js';

t.test('single byte ranges against a body of 1000 bytes (RFC 9110 §14.1.2)', async (t) => {
  const cases: [string, { first: number; last: number } | undefined][] = [
    ['bytes=0-99', { first: 0, last: 99 }],
    ['bytes=100-', { first: 100, last: 999 }],
    ['bytes=-100', { first: 900, last: 999 }],
    ['bytes=-5000', { first: 0, last: 999 }],
    ['bytes=990-5000', { first: 990, last: 999 }],
    ['bytes=999-999', { first: 999, last: 999 }],
    ['bytes=1000-', undefined],
    ['bytes=200-100', undefined],
    ['bytes=-0', undefined],
    ['bytes=0-1,5-6', undefined],
    ['items=0-1', undefined],
    ['bytes=-', undefined],
  ];
  for (const [header, expected] of cases) t.same(parseByteRange(header, 1000), expected, header);
  t.equal(parseByteRange('bytes=0-0', 0), undefined, 'an empty body has no ranges');
});
