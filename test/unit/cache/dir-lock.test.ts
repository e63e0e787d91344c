/** The cache directory's pid lock: taken, refused while a live process holds it, taken over from a dead one. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import t, { type Test } from 'tap';
import { DirLockedError, lockDir } from '../../../src/cache/dir-lock.js';
import { BlobStore } from '../../../src/cache/blob-store.js';

const fresh = async (t: Test): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'mirrorgate-lock-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
};

/** A pid that certainly belongs to no process: one that just exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

t.test('taken and released; this process taking it again is no conflict', async (t) => {
  const dir = await fresh(t);
  const release = await lockDir(dir);
  t.equal((await readFile(join(dir, 'lock'), 'utf8')).trim(), String(process.pid));
  const again = await lockDir(dir);
  await again();
  await release();
  await t.rejects(readFile(join(dir, 'lock')), { code: 'ENOENT' }, 'released: the file is gone');
});

t.test('a live process holds it: refused, naming the pid', async (t) => {
  const dir = await fresh(t);
  // The test runner that started this file is alive and is not this process.
  await writeFile(join(dir, 'lock'), `${process.ppid}\n`);
  await t.rejects(lockDir(dir), new DirLockedError(dir, process.ppid));
  await t.rejects(BlobStore.open(dir, { maxBytes: 1e6, highWatermark: 0.9, lowWatermark: 0.8 }), { code: 'DIR_LOCKED' }, 'the store will not open');
  t.equal((await readFile(join(dir, 'lock'), 'utf8')).trim(), String(process.ppid), 'the holder keeps it');
});

t.test('left by a process that is gone, or unreadable: taken over', async (t) => {
  const dir = await fresh(t);
  await writeFile(join(dir, 'lock'), `${deadPid()}\n`);
  const release = await lockDir(dir);
  t.equal((await readFile(join(dir, 'lock'), 'utf8')).trim(), String(process.pid));
  await release();
  await writeFile(join(dir, 'lock'), 'garbage');
  await (
    await lockDir(dir)
  )();
});

t.test('the store holds the lock until close()', async (t) => {
  const dir = await fresh(t);
  const store = await BlobStore.open(dir, { maxBytes: 1e6, highWatermark: 0.9, lowWatermark: 0.8 });
  t.equal((await readFile(join(dir, 'lock'), 'utf8')).trim(), String(process.pid));
  await BlobStore.open(dir, { maxBytes: 1e6, highWatermark: 0.9, lowWatermark: 0.8 }, { shared: true });
  t.pass('inspecting (mirrorgate cache) takes no lock');
  await store.close();
  await t.rejects(readFile(join(dir, 'lock')), { code: 'ENOENT' });
});
