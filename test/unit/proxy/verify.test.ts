import { createHash } from 'node:crypto';
import t from 'tap';
import { verifyingSink } from '../../../src/proxy/verify.js';
import { RecordingSink } from '../../helpers/recording-sink.js';

const CHUNKS = ['first-', 'second-', 'third'];
const BODY = CHUNKS.join('');
const DIGEST = `sha256:${createHash('sha256').update(BODY).digest('hex')}`;
const WRONG = `sha256:${'0'.repeat(64)}`;

t.test('with a Content-Length only the chunk that completes the body waits for the check', async (t) => {
  const client = new RecordingSink();
  const target = verifyingSink(client, DIGEST);
  target.start(200, { 'content-length': String(BODY.length) });
  target.write(Buffer.from(CHUNKS[0]!));
  t.same(client.writes, ['first-'], 'a chunk short of the length goes out at once');
  target.write(Buffer.from(CHUNKS[1]!));
  target.write(Buffer.from(CHUNKS[2]!));
  t.same(client.writes, ['first-', 'second-'], 'the completing chunk is held back');
  target.end();
  t.same(client.writes, CHUNKS, 'it goes out once the digest matched');
  t.ok(client.ended);
});

t.test('a mismatch keeps the last chunk and the end from the client', async (t) => {
  const client = new RecordingSink();
  const target = verifyingSink(client, WRONG);
  target.start(200, { 'content-length': String(BODY.length) });
  for (const chunk of CHUNKS) target.write(Buffer.from(chunk));
  t.throws(() => target.end(), { code: 'DIGEST_MISMATCH' });
  t.same(client.writes, ['first-', 'second-']);
  t.notOk(client.ended);
});

t.test('without a Content-Length each chunk waits for the next one', async (t) => {
  const client = new RecordingSink();
  const target = verifyingSink(client, WRONG);
  target.start(200, {});
  target.write(Buffer.from(CHUNKS[0]!));
  t.same(client.writes, []);
  target.write(Buffer.from(CHUNKS[1]!));
  target.write(Buffer.from(CHUNKS[2]!));
  t.same(client.writes, ['first-', 'second-']);
  t.throws(() => target.end(), { code: 'DIGEST_MISMATCH' });
  t.same(client.writes, ['first-', 'second-'], 'the unverifiable last chunk never went out');
});

t.test('a malformed Content-Length counts as none', async (t) => {
  const client = new RecordingSink();
  const target = verifyingSink(client, DIGEST);
  target.start(200, { 'content-length': '12abc' });
  target.write(Buffer.from(CHUNKS[0]!));
  t.same(client.writes, []);
  target.write(Buffer.from(CHUNKS[1]!));
  target.write(Buffer.from(CHUNKS[2]!));
  target.end();
  t.same(client.writes, CHUNKS);
});

t.test('partial content and unknown algorithms pass through unverified', async (t) => {
  const partial = new RecordingSink();
  const target = verifyingSink(partial, WRONG);
  target.start(206, { 'content-range': 'bytes 0-4/10' });
  target.write(Buffer.from('abcde'));
  target.end();
  t.same(partial.writes, ['abcde']);
  t.ok(partial.ended);

  const other = new RecordingSink();
  t.equal(verifyingSink(other, 'blake3:abc'), other, 'nothing to check with: the client itself');
});
