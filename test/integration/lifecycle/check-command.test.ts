/**
 * `mirrorgate check`, `--version`, usage errors, and `serve` refusing an invalid file: the exit
 * codes and the exact output of the built CLI.
 */
import t, { type Test } from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, REPO_ROOT, runCli, tempDir } from '../../helpers/cli-process.js';

const TIMEOUT = { timeout: 30_000 };
type Tap = Pick<Test, 'equal' | 'match'>;

/** `FILE:LINE:COL path: message`, as formatProblems() writes a problem with a key path. */
const PROBLEM_LINE = /^(.+):(\d+):(\d+) (\S+): (.+)$/;

/** Two problems: a negative weight (line 5) and an unknown key (line 6). */
async function invalidFile(dir: string, port: number): Promise<string> {
  const file = join(dir, 'invalid.yaml');
  await writeFile(
    file,
    [`listen: "127.0.0.1:${port}"`, 'upstreams:', '  - name: hub', '    url: http://127.0.0.1:9', '    weight: -2', '    colour: blue', ''].join('\n'),
  );
  return file;
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The two problems, exactly but for the list of allowed keys (which grows with the schema). */
function expectProblems(t: Tap, stderr: string[], file: string): void {
  t.equal(stderr.length, 2, `two problems on stderr:\n${stderr.join('\n')}`);
  t.equal(stderr[0], `${file}:5:13 upstreams[0].weight: must be an integer >= 0, got -2`, 'the negative weight, at its line:col');
  t.match(
    stderr[1],
    new RegExp(
      `^${escape(file)}:6:5 upstreams\\[0\\]\\.colour: unknown key; expected one of name, url, weight, backup, tls, timeouts, maxConnections, breaker\\b`,
    ),
    'the unknown key, at its line:col',
  );
  for (const line of stderr) t.match(line, PROBLEM_LINE, 'FILE:LINE:COL path: message');
}

t.test('check on the shipped config exits 0 and prints the upstream table', TIMEOUT, async (t) => {
  const run = await runCli(t, ['check', '-c', 'conf/mirrorgate.yaml']);
  t.equal(run.code, 0, 'exit code');
  t.same(run.stderr, [], 'nothing on stderr');
  t.equal(run.stdout[0], 'conf/mirrorgate.yaml: valid');
  // conf/mirrorgate.yaml: hub weight 1, gcr-mirror weight 3, no backups → 25% / 75%; Docker Hub resolves the tags.
  // The table, then the access and cache lines.
  const tableLines = run.stdout.slice(1, -2);
  const table = tableLines.map((line) => line.trim().split(/\s{2,}/));
  t.same(table, [
    ['REGISTRY', 'NAME', 'URL', 'WEIGHT', 'SHARE', 'BACKUP'],
    ['docker.io', 'hub', 'https://registry-1.docker.io', '1', '25.0%', 'no'],
    ['docker.io', 'gcr-mirror', 'https://mirror.gcr.io', '3', '75.0%', 'no'],
    ['docker.io', 'hub-tags', 'https://registry-1.docker.io', '-', 'tags', '-'],
  ]);
  // The columns line up: every row starts its cells where the header's do.
  const header = run.stdout[1]!;
  for (const row of tableLines.slice(1)) {
    for (const title of ['NAME', 'URL', 'WEIGHT', 'SHARE', 'BACKUP']) {
      t.equal(row[header.indexOf(title) - 1], ' ', `the ${title} column is aligned in "${row}"`);
      t.not(row[header.indexOf(title)], ' ', `a ${title} cell starts under its title in "${row}"`);
    }
  }
  // conf/mirrorgate.yaml caches under data/cache, next to conf/, up to 10 GiB.
  t.equal(run.stdout.at(-1), `cache: on in ${join(REPO_ROOT, 'data', 'cache')}, up to 10 GiB (evicts from 90% down to 80%)`);
});

t.test('check says when the cache is off', TIMEOUT, async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'mirrorgate.yaml');
  await writeFile(file, `listen: "127.0.0.1:${await freePort()}"\ncache: false\nupstreams:\n  - { name: a, url: "https://a.example" }\n`);
  const run = await runCli(t, ['check', '-c', file]);
  t.equal(run.code, 0);
  t.equal(run.stdout.at(-1), 'cache: off (relay only: `cache:` is false or left out)');
});

t.test('check on an invalid file exits 2 and lists every problem as FILE:LINE:COL path: message', TIMEOUT, async (t) => {
  const dir = await tempDir(t);
  const file = await invalidFile(dir, await freePort());
  const run = await runCli(t, ['check', '-c', file]);
  t.equal(run.code, 2, 'exit code');
  t.same(run.stdout, [], 'no table on stdout');
  expectProblems(t, run.stderr, file);
});

t.test('check on a missing file exits 2 and says so', TIMEOUT, async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'does-not-exist.yaml');
  const run = await runCli(t, ['check', '-c', file]);
  t.equal(run.code, 2, 'exit code');
  t.same(run.stdout, []);
  t.same(run.stderr, [`${file}:1:1 cannot read config file: no such file (ENOENT)`]);
});

t.test('serve with an invalid file exits 2 with the same messages and never listens', TIMEOUT, async (t) => {
  const dir = await tempDir(t);
  const file = await invalidFile(dir, await freePort());
  const run = await runCli(t, ['serve', '-c', file]);
  t.equal(run.code, 2, 'exit code');
  expectProblems(t, run.stderr, file);
  const checked = await runCli(t, ['check', '-c', file]);
  t.same(run.stderr, checked.stderr, 'the same messages as check');
  t.same(run.stdout, [], 'no log line at all: no logger, no listening');
  t.notOk(run.proc.logs.some((line) => line['event'] === 'listening'));
});

t.test('--version prints the package version', TIMEOUT, async (t) => {
  for (const flag of ['--version', '-v']) {
    const run = await runCli(t, [flag]);
    t.equal(run.code, 0, `${flag}: exit code`);
    t.same(run.stdout, ['mirrorgate 0.1.0'], flag);
    t.same(run.stderr, [], flag);
  }
});

t.test('an unknown command exits 2 with the usage on stderr', TIMEOUT, async (t) => {
  const run = await runCli(t, ['frobnicate', '-c', 'conf/mirrorgate.yaml']);
  t.equal(run.code, 2, 'exit code');
  t.same(run.stdout, []);
  t.equal(run.stderr[0], 'mirrorgate: unknown command "frobnicate"');
  t.ok(
    run.stderr.some((line) => line.startsWith('usage: mirrorgate')),
    'usage follows',
  );
});

t.test('an unknown option exits 2', TIMEOUT, async (t) => {
  const run = await runCli(t, ['check', '--frob']);
  t.equal(run.code, 2, 'exit code');
  t.same(run.stdout, []);
  t.match(run.stderr[0], /^mirrorgate: .*--frob/);
});
