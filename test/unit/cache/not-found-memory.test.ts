/**
 * Remembered 404s for tags: answered while younger than the ttl (by an injected clock), dropped
 * after, forgotten when the tag exists again, never kept with a ttl of 0, bounded in count.
 */
import t from 'tap';
import { NotFoundMemory } from '../../../src/cache/not-found-memory.js';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let at = 1_000_000;
  return { now: () => at, advance: (ms) => void (at += ms) };
}

t.test('a 404 is remembered for the ttl and not a millisecond longer', async (t) => {
  const time = clock();
  const memory = new NotFoundMemory(15_000, time.now);
  t.notOk(memory.has('k'), 'nothing remembered yet');
  memory.remember('k');
  t.ok(memory.has('k'));
  time.advance(14_999);
  t.ok(memory.has('k'), 'still within the ttl');
  time.advance(1);
  t.notOk(memory.has('k'), 'expired at the ttl');
  t.equal(memory.size, 0, 'and dropped');
});

t.test('forget: the tag exists again', async (t) => {
  const memory = new NotFoundMemory(15_000, clock().now);
  memory.remember('k');
  memory.forget('k');
  t.notOk(memory.has('k'));
});

t.test('a ttl of 0 remembers nothing', async (t) => {
  const memory = new NotFoundMemory(0, clock().now);
  memory.remember('k');
  t.notOk(memory.has('k'));
  t.equal(memory.size, 0);
});

t.test('bounded: the least recently used goes first', async (t) => {
  const memory = new NotFoundMemory(15_000, clock().now, 3);
  for (const key of ['a', 'b', 'c']) memory.remember(key);
  t.ok(memory.has('a'), 'a used again');
  memory.remember('d');
  t.equal(memory.size, 3);
  t.notOk(memory.has('b'), 'b was the least recently used');
  t.ok(memory.has('a'));
  t.ok(memory.has('c'));
  t.ok(memory.has('d'));
});
