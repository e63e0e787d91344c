import t from 'tap';
import { continuationTarget } from '../../../src/proxy/resume.js';
import type { RelayTarget } from '../../../src/upstream/relay-handler.js';

const client: RelayTarget = { start() {}, write: () => true, onceDrain() {}, end() {} };

t.test('a continuation must answer exactly the range asked for', async (t) => {
  const fits = continuationTarget(client, 100, 199);
  t.doesNotThrow(() => fits.start(206, { 'content-range': 'bytes 100-199/1000', 'content-length': '100' }), 'range and length agree');
  t.doesNotThrow(() => continuationTarget(client, 100, 199).start(206, { 'content-range': 'bytes 100-199/*' }), 'no Content-Length');
  t.throws(() => continuationTarget(client, 100, 199).start(200, { 'content-length': '1000' }), { code: 'RESUME_MISMATCH' }, 'a 200 starts over');
  t.throws(() => continuationTarget(client, 100, 199).start(206, { 'content-range': 'bytes 0-199/1000' }), { code: 'RESUME_MISMATCH' }, 'another range');
  t.throws(
    () => continuationTarget(client, 100, 199).start(206, { 'content-range': 'bytes 100-199/1000', 'content-length': '150' }),
    { code: 'RESUME_MISMATCH' },
    'a body longer than its range',
  );
});
