import t from 'tap';
import { continuationSink, partialContentSink } from '../../../src/proxy/resume.js';
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

t.test('a continuation of a blob of known size must name that size', async (t) => {
  t.doesNotThrow(() => continuationSink(client, 100, 199, 1000).start(206, { 'content-range': 'bytes 100-199/1000' }));
  t.doesNotThrow(() => continuationSink(client, 100, 199, 1000).start(206, { 'content-range': 'bytes 100-199/*' }), 'an unknown size is not a contradiction');
  t.throws(() => continuationSink(client, 100, 199, 1000).start(206, { 'content-range': 'bytes 100-199/2000' }), { code: 'RESUME_MISMATCH' }, 'another blob');
});

t.test('a 206 body is never passed on past its Content-Range (a chunked body has no Content-Length to hold it to)', async (t) => {
  const got: Buffer[] = [];
  const sink = continuationSink({ ...client, write: (chunk) => got.push(chunk) > 0 }, 100, 199);
  sink.start(206, { 'content-range': 'bytes 100-199/1000' });
  sink.write(Buffer.alloc(60));
  t.throws(() => sink.write(Buffer.alloc(60)), { code: 'RESUME_MISMATCH', passedOn: true, withheld: 60 }, 'the chunk that runs past it is refused, kept back');
  t.equal(Buffer.concat(got).length, 60, 'only the bytes within the range went on');
});

t.test('partialContentSink: any 206 is held to its own headers; other statuses pass', async (t) => {
  const started: number[] = [];
  const recording: Sink = { ...client, start: (status) => void started.push(status) };
  partialContentSink(recording).start(200, { 'content-length': '1000' });
  partialContentSink(recording).start(206, { 'content-range': 'bytes 0-99/1000', 'content-length': '100' });
  t.same(started, [200, 206], 'passed on');
  t.throws(() => partialContentSink(recording).start(206, { 'content-range': 'bytes 0-99/1000', 'content-length': '116' }), { code: 'RESUME_MISMATCH' });
  t.throws(() => partialContentSink(recording).start(206, {}), { code: 'RESUME_MISMATCH' }, 'no Content-Range');
  t.throws(() => partialContentSink(recording).start(206, { 'content-range': 'bytes 99-0/1000' }), { code: 'RESUME_MISMATCH' }, 'an impossible range');
  t.throws(() => partialContentSink(recording).start(206, { 'content-range': 'bytes 0-1000/1000' }), { code: 'RESUME_MISMATCH' }, 'past the size');
  t.same(started, [200, 206], 'a refused answer is not passed on');
});
