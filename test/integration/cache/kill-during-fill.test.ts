/**
 * kill -9 in the middle of a fill: after a restart on the same cache directory nothing partial
 * is served (the half-written spool is gone) and the next pull fills cleanly.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import t from 'tap';
import { freePort, startCli, tempDir } from '../../helpers/cli-process.js';
import { startFakeUpstream, trickle } from '../helpers/fake-upstream.js';

const CHUNKS = Array.from({ length: 40 }, () => randomBytes(64 * 1024));
const BLOB = Buffer.concat(CHUNKS);
const DIGEST = `sha256:${createHash('sha256').update(BLOB).digest('hex')}`;

/** Resolves with the first body bytes' arrival, then (second promise) the whole outcome. */
function get(url: string): { started: Promise<void>; done: Promise<{ body: Buffer; complete: boolean; xCache: string | undefined }> } {
  let started!: () => void;
  const startedP = new Promise<void>((resolve) => (started = resolve));
  const done = new Promise<{ body: Buffer; complete: boolean; xCache: string | undefined }>((resolve) => {
    const chunks: Buffer[] = [];
    const req = request(url, (res) => {
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        started();
      });
      const finish = (): void => resolve({ body: Buffer.concat(chunks), complete: res.complete, xCache: res.headers['x-cache'] as string | undefined });
      res.on('end', finish);
      res.on('error', finish);
      res.on('close', finish);
    });
    req.on('error', () => resolve({ body: Buffer.concat(chunks), complete: false, xCache: undefined }));
    req.end();
  });
  return { started: startedP, done };
}

t.test('a fill killed with SIGKILL leaves nothing that a restarted gateway serves', { timeout: 60_000 }, async (t) => {
  const upstream = await startFakeUpstream(trickle(CHUNKS, 20));
  t.teardown(() => upstream.close());
  const dir = await tempDir(t);
  const cacheDir = join(dir, 'cache');
  const port = await freePort();
  const file = join(dir, 'mirrorgate.yaml');
  await writeFile(file, `listen: "127.0.0.1:${port}"\nupstreams:\n  - { name: u, url: "${upstream.url}" }\ncache: { dir: ${cacheDir} }\n`);
  const url = `http://127.0.0.1:${port}/v2/library/x/blobs/${DIGEST}`;

  const first = startCli(t, ['serve', '-c', file, '--no-watch']);
  await first.listening();
  const interrupted = get(url);
  await interrupted.started;
  t.not(readdirSync(join(cacheDir, 'tmp')).length, 0, 'a spool file is being written');
  await first.kill();
  t.notOk((await interrupted.done).complete, 'the download was cut by the kill');

  const second = startCli(t, ['serve', '-c', file, '--no-watch']);
  await second.listening();
  t.same(readdirSync(join(cacheDir, 'tmp')), [], 'the restart removed the partial spool');
  t.same(readdirSync(join(cacheDir, 'blobs', 'sha256')), [], 'and nothing partial is at a final path');
  const again = await get(url).done;
  t.equal(again.xCache, 'MISS', 'the blob was not in the cache: a fresh fill');
  t.ok(again.complete && again.body.equals(BLOB), 'and it is whole');
  const third = await get(url).done;
  t.equal(third.xCache, 'HIT');
  t.ok(third.body.equals(BLOB));
});
