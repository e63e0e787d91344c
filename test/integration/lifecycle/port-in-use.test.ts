/**
 * `serve` on a port someone else holds: a runtime failure (exit 1) with one readable line on
 * stderr, not a stack trace.
 */
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startFakeUpstream, registryAnswer } from '../helpers/fake-upstream.js';
import { startCli, tempDir } from '../../helpers/cli-process.js';

t.test('serve on an occupied port exits 1 with exactly one "already in use" line', { timeout: 30_000 }, async (t) => {
  const squatter = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    squatter.once('error', reject);
    squatter.listen(0, '127.0.0.1', resolve);
  });
  t.teardown(() => new Promise<void>((resolve) => squatter.close(() => resolve())));
  const { port } = squatter.address() as AddressInfo;

  const upstream = await startFakeUpstream(registryAnswer('{}'));
  t.teardown(() => upstream.close());

  const dir = await tempDir(t);
  const file = join(dir, 'mirrorgate.yaml');
  await writeFile(file, `listen: "127.0.0.1:${port}"\nupstreams:\n  - { name: a, url: "${upstream.url}" }\n`);

  const proc = startCli(t, ['serve', '-c', file]);
  const exit = await proc.waitForExit(10_000);
  t.same(exit, { code: 1, signal: null }, 'exit code 1, not killed by a signal');

  const stderr = proc.stderr.filter((line) => line !== '');
  t.equal(stderr.length, 1, `exactly one line on stderr:\n${proc.stderr.join('\n')}`);
  t.match(stderr[0], 'already in use');
  t.match(stderr[0], `127.0.0.1:${port}`, 'names the address');
  t.notOk(
    proc.logs.some((line) => line['event'] === 'listening'),
    'never claims to listen',
  );
  t.equal(upstream.requests.length, 0, 'no upstream traffic');
});
