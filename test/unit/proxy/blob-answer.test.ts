import t from 'tap';
import { blobAnswerSink, isHtml } from '../../../src/proxy/blob-answer.js';
import type { Sink } from '../../../src/stream/sink.js';

const client: Sink = { start() {}, write: () => true, onceDrain() {}, end() {} };

t.test('a web page is no blob: refused before it passes on, as a bad_blob', async (t) => {
  t.ok(isHtml({ 'content-type': 'text/html' }));
  t.ok(isHtml({ 'content-type': 'Text/HTML; charset=utf-8' }));
  t.notOk(isHtml({ 'content-type': 'application/octet-stream' }));
  t.notOk(isHtml({}));
  let started = 0;
  const counting: Sink = { ...client, start: () => void started++ };
  t.throws(() => blobAnswerSink(counting).start(200, { 'content-type': 'text/html; charset=utf-8' }), { code: 'BAD_BLOB', reason: 'blob', passedOn: false });
  t.throws(() => blobAnswerSink(counting).start(206, { 'content-type': 'text/html', 'content-range': 'bytes 0-9/10' }), { code: 'BAD_BLOB' });
  t.equal(started, 0, 'nothing passed on');
  blobAnswerSink(counting).start(404, { 'content-type': 'text/html' });
  blobAnswerSink(counting).start(200, { 'content-type': 'application/octet-stream' });
  t.equal(started, 2, 'an error status is judged by its status; a blob passes');
});
