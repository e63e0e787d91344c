/** `mirrorgate warm` refusing what it cannot do, with exit 2 and a message, before any pull. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { runCli, tempDir } from '../../helpers/cli-process.js';

t.test('bad images, platforms and configs are refused with exit 2', { timeout: 60_000 }, async (t) => {
  const dir = await tempDir(t);
  const cached = join(dir, 'cached.yaml');
  const relay = join(dir, 'relay.yaml');
  await writeFile(cached, 'upstreams:\n  - { name: u, url: "http://127.0.0.1:9" }\ncache: { dir: cache }\n');
  await writeFile(relay, 'upstreams:\n  - { name: u, url: "http://127.0.0.1:9" }\n');
  const cases: [string[], RegExp][] = [
    [['warm', 'ghcr.io/org/app:1', '-c', cached], /registry ghcr\.io of "ghcr\.io\/org\/app:1" is not served here; served: docker\.io/],
    [['warm', 'Nope', '-c', cached], /"Nope" is not an image reference/],
    [['warm', 'nginx', '--platform', 'amd64', '-c', cached], /--platform must be a platform such as "linux\/amd64"/],
    [['warm', '-c', cached], /no IMAGE given, and .* has no prefetch\.images/],
    [['warm', 'nginx', '-c', relay], /has no cache to fill .*use --gateway URL/],
  ];
  for (const [args, message] of cases) {
    const run = await runCli(t, args);
    t.equal(run.code, 2, args.join(' '));
    t.match(run.stderr.join('\n'), message, args.join(' '));
  }
});

t.test('an image no upstream can serve: exit 1, named on stderr', { timeout: 60_000 }, async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'mirrorgate.yaml');
  // Port 9 (discard) refuses connections on 127.0.0.1: every upstream fails at once.
  await writeFile(file, 'upstreams:\n  - { name: u, url: "http://127.0.0.1:9", timeouts: { connect: 1s } }\ncache: { dir: cache }\n');
  const run = await runCli(t, ['warm', 'nginx:1.27', '-c', file], { timeoutMs: 30_000 });
  t.equal(run.code, 1);
  t.match(run.stdout.join('\n'), /docker\.io\/library\/nginx:1\.27: FAILED: manifest 1\.27: no upstream could answer/);
  t.match(run.stderr.join('\n'), /mirrorgate warm: 1 of 1 images failed: docker\.io\/library\/nginx:1\.27/);
});
