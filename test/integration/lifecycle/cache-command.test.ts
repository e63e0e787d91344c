/** `mirrorgate cache stats | ls | verify | gc | rm` on a real cache directory, through the built CLI. */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { BlobStore } from '../../../src/cache/blob-store.js';
import { runCli, tempDir } from '../../helpers/cli-process.js';

const digestOf = (body: Buffer): string => `sha256:${createHash('sha256').update(body).digest('hex')}`;

t.test('stats, ls, verify (removing a corrupt blob), rm and gc', { timeout: 60_000 }, async (t) => {
  const dir = await tempDir(t);
  const cacheDir = join(dir, 'cache');
  const file = join(dir, 'mirrorgate.yaml');
  await writeFile(file, `upstreams:\n  - { name: u, url: "https://u.example" }\ncache: { dir: cache, maxSize: 1MiB, highWatermark: 50%, lowWatermark: 25% }\n`);
  const store = await BlobStore.open(cacheDir, { maxBytes: 1e9, highWatermark: 0.9, lowWatermark: 0.8 });
  const bodies = ['a', 'b', 'c'].map((x) => Buffer.alloc(100 * 1024, x));
  for (const body of bodies) {
    const writer = await store.create(digestOf(body));
    await writer.write(body);
    await writer.commit();
  }
  // A blob whose bytes went bad on disk after it was stored.
  const liar = Buffer.alloc(10, 'x');
  const liarDigest = digestOf(Buffer.alloc(10, 'y'));
  const liarPath = store.pathOf(liarDigest);
  mkdirSync(join(liarPath, '..'), { recursive: true });
  writeFileSync(liarPath, liar);
  writeFileSync(join(cacheDir, 'tmp', 'a-fill-in-progress'), 'partial');

  const stats = await runCli(t, ['cache', 'stats', '-c', file]);
  t.equal(stats.code, 0);
  t.match(stats.stdout.join('\n'), /blobs\s+4/);
  t.match(stats.stdout.join('\n'), /in progress\s+1 fills/);

  const ls = await runCli(t, ['cache', 'ls', '-c', file]);
  t.same(ls.stdout.map((line) => line.split(/\s+/)[0]).sort(), [...bodies.map(digestOf), liarDigest].sort());

  const verify = await runCli(t, ['cache', 'verify', '-c', file]);
  t.equal(verify.code, 1, 'exit 1: something did not match');
  t.match(verify.stdout.join('\n'), new RegExp(`removed ${liarDigest}: content is ${digestOf(liar)}`));
  t.notOk(existsSync(liarPath));
  t.ok(existsSync(join(cacheDir, 'tmp', 'a-fill-in-progress')), "a running gateway's fill is left alone");

  const rm = await runCli(t, ['cache', 'rm', digestOf(bodies[0]!), '-c', file]);
  t.equal(rm.code, 0);
  t.equal((await runCli(t, ['cache', 'rm', digestOf(bodies[0]!), '-c', file])).code, 1, 'not there any more');

  // 200 KiB left of a 1 MiB limit is under the high watermark (512 KiB): gc leaves it.
  const gc = await runCli(t, ['cache', 'gc', '-c', file]);
  t.match(gc.stdout.join('\n'), /evicted 0 blobs/);
  // The same directory under a smaller limit: 200 KiB is above 50 % of 300 KiB, down to 25 %.
  const small = join(dir, 'small.yaml');
  await writeFile(
    small,
    `upstreams:\n  - { name: u, url: "https://u.example" }\ncache: { dir: cache, maxSize: 300KiB, highWatermark: 50%, lowWatermark: 25% }\n`,
  );
  const evicting = await runCli(t, ['cache', 'gc', '-c', small]);
  t.match(evicting.stdout.join('\n'), /evicted 2 blobs, 0\.2 MiB/);
  t.same((await runCli(t, ['cache', 'ls', '-c', small])).stdout, [], 'empty now');
  t.equal((await runCli(t, ['cache', 'frobnicate', '-c', file])).code, 2, 'unknown subcommand');
});
