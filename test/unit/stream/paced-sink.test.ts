/** The bandwidth cap: a token bucket, and a sink that pushes back once it is spent. */
import t from 'tap';
import { DiscardSink } from '../../../src/stream/discard-sink.js';
import { pacedSink, TokenBucket } from '../../../src/stream/paced-sink.js';

t.test('the bucket: a burst, then the wait the rate gives', async (t) => {
  let now = 0;
  const bucket = new TokenBucket(1000, 1000, () => now);
  t.equal(bucket.take(600), 0, 'within the burst');
  t.equal(bucket.take(600), 200, '200 bytes short at 1000 B/s: 200 ms');
  now += 200;
  t.equal(bucket.take(0), 0, 'refilled after the wait');
  now += 10_000;
  t.equal(bucket.take(1000), 0, 'an idle spell refills up to the burst only');
  t.equal(bucket.take(1), 1);
});

t.test('the sink says false when the bucket is spent, and calls back once it refilled', async (t) => {
  const inner = new DiscardSink();
  // A clock that stands still: no refill between the writes, however slow the machine.
  const sink = pacedSink(inner, new TokenBucket(1_000_000, 1000, () => 0));
  sink.start(200, {});
  t.equal(sink.write(Buffer.alloc(500)), true);
  t.equal(sink.write(Buffer.alloc(1000)), false, 'over the burst: pause');
  const resumed = await new Promise<boolean>((resolve) => sink.onceDrain(() => resolve(true)));
  t.ok(resumed);
  sink.end();
  t.equal(inner.bytes, 1500, 'every byte passed through');
  t.ok(inner.ended);
  t.equal(pacedSink(inner, undefined), inner, 'no cap: the sink itself');
});
