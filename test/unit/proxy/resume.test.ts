import t from 'tap';
import { continuationSink } from '../../../src/proxy/resume.js';
import type { Sink } from '../../../src/stream/sink.js';

const client: Sink = { start() {}, write: () => true, onceDrain() {}, end() {} };

t.test('a continuation must answer exactly the range asked for', async (t) => {
  const fits = continuationSink(client, 100, 199);
  t.doesNotThrow(() => fits.start(206, { 'content-range': 'bytes 100-199/1000', 'content-length': '100' }), 'range and length agree');
  t.doesNotThrow(() => continuationSink(client, 100, 199).start(206, { 'content-range': 'bytes 100-199/*' }), 'no Content-Length');
  t.throws(() => continuationSink(client, 100, 199).start(200, { 'content-length': '1000' }), { code: 'RESUME_MISMATCH' }, 'a 200 starts over');
  t.throws(() => continuationSink(client, 100, 199).start(206, { 'content-range': 'bytes 0-199/1000' }), { code: 'RESUME_MISMATCH' }, 'another range');
  t.throws(
    () => continuationSink(client, 100, 199).start(206, { 'content-range': 'bytes 100-199/1000', 'content-length': '150' }),
    { code: 'RESUME_MISMATCH' },
    'a body longer than its range',
  );
});
