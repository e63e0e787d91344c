/** A piece's sink writes at its offsets, one write at a time, the chunks that came meanwhile in one. */
import t from 'tap';
import { PieceSink } from '../../../src/cache/piece-sinks.js';
import type { PieceTarget } from '../../../src/cache/piece-target.js';

/** A target whose writes complete when the test says so; it keeps the file's bytes. */
function slowTarget(): { target: PieceTarget; writes: { position: number; bytes: number }[]; complete: () => void; file: Buffer } {
  const file = Buffer.alloc(64);
  const writes: { position: number; bytes: number }[] = [];
  const waiting: (() => void)[] = [];
  const target: PieceTarget = {
    startPieces: () => true,
    writeAt(position, chunk) {
      writes.push({ position, bytes: chunk.length });
      chunk.copy(file, position);
      return new Promise((resolve) => waiting.push(resolve));
    },
    contiguous: () => Promise.resolve(),
    endPieces: () => undefined,
  };
  return { target, writes, file, complete: () => waiting.shift()?.() };
}

t.test('chunks that arrive while a write is on its way go to the disk in one write, at the right offset', async (t) => {
  const { target, writes, complete, file } = slowTarget();
  const sink = new PieceSink(target, 8);
  const progress: number[] = [];
  sink.progress = (bytes) => progress.push(bytes);
  for (const letter of 'abcde') sink.write(Buffer.from(letter.repeat(4)));
  t.same(writes, [{ position: 8, bytes: 4 }], 'the first chunk is written at once, the others wait for it');
  complete();
  await new Promise((resolve) => setImmediate(resolve));
  t.same(writes, [
    { position: 8, bytes: 4 },
    { position: 12, bytes: 16 },
  ]);
  sink.write(Buffer.from('ffff'));
  complete();
  await new Promise((resolve) => setImmediate(resolve));
  complete();
  await sink.flushed();
  t.same(writes.at(-1), { position: 28, bytes: 4 }, 'a chunk after the batch started is the next write');
  t.same(progress, [4, 16, 4], 'progress in order, as the writes land');
  t.equal(file.subarray(8, 32).toString(), 'aaaabbbbccccddddeeeeffff', 'every byte at its offset');
});

t.test('flushed() waits for the chunks still queued behind the write on its way', async (t) => {
  const { target, complete } = slowTarget();
  const sink = new PieceSink(target, 0);
  sink.write(Buffer.from('one'));
  sink.write(Buffer.from('two'));
  let flushed = false;
  const done = sink.flushed().then(() => (flushed = true));
  complete();
  await new Promise((resolve) => setImmediate(resolve));
  t.notOk(flushed, 'not while the second write is on its way');
  complete();
  await done;
  t.ok(flushed);
});
