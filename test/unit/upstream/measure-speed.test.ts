import t from 'tap';
import { MirrorSpeed } from '../../../src/balancer/mirror-speed.js';
import type { Exchange } from '../../../src/upstream/exchange.js';
import { measureSpeed } from '../../../src/upstream/measure-speed.js';
import type { RelayedBody } from '../../../src/upstream/relay-handler.js';

const MiB = 1024 * 1024;

/** Sends one exchange through the step, its relay reporting `body`; the speed it recorded. */
async function measure(body: RelayedBody, bulk = true): Promise<number | undefined> {
  const speed = new MirrorSpeed(() => 0);
  const send = measureSpeed(speed)(async (exchange) => {
    exchange.relay.timing?.onHeaders(0.02);
    exchange.relay.timing?.onBody?.(body);
    return { kind: 'relayed', status: body.status, bytes: body.bytes };
  });
  await send({ bulk, relay: {} } as unknown as Exchange);
  return speed.throughput(60_000, 0)?.value;
}

t.test('a whole blob body is a sample, its rate over the time it was not paused', async (t) => {
  t.equal(await measure({ status: 200, bytes: 4 * MiB, seconds: 1, pausedSeconds: 0 }), 4 * MiB);
  t.equal(await measure({ status: 200, bytes: 4 * MiB, seconds: 1, pausedSeconds: 0.2 }), 5 * MiB, 'a short pause is the sink, not the mirror');
});

t.test('a 206 piece of a parallel fill is a sample too: a gateway that fills its big blobs so learns their mirrors', async (t) => {
  t.equal(await measure({ status: 206, bytes: 8 * MiB, seconds: 1, pausedSeconds: 0 }), 8 * MiB);
});

t.test('not samples: a body held back most of its time, an error body, a small body, a manifest', async (t) => {
  t.equal(await measure({ status: 200, bytes: 4 * MiB, seconds: 1, pausedSeconds: 0.6 }), undefined, 'a slow reader measures the reader');
  t.equal(await measure({ status: 404, bytes: 4 * MiB, seconds: 1, pausedSeconds: 0 }), undefined);
  t.equal(await measure({ status: 200, bytes: MiB - 1, seconds: 1, pausedSeconds: 0 }), undefined);
  t.equal(await measure({ status: 200, bytes: 4 * MiB, seconds: 1, pausedSeconds: 0 }, false), undefined);
});
