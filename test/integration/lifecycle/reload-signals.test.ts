/**
 * Live reconfiguration of a running `serve`: SIGHUP re-reads the file, an invalid file is
 * refused (the last good config keeps serving), and with watching on (the default) a changed
 * file is picked up without any signal.
 *
 * Counting reloads exactly needs the SIGHUP steps to be invisible to the file watcher, or each
 * would reload twice (once for the signal, once for the change). The watcher watches the config
 * file's folder, so the config path is a symlink into another folder: the SIGHUP steps rewrite
 * the symlink's target (no event in the watched folder), and the last step replaces the file in
 * the watched folder itself (an atomic rename, as editors and ConfigMap updates do).
 */
import t from 'tap';
import { mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startFakeUpstream, registryAnswer } from '../helpers/fake-upstream.js';
import { eventually, freePort, httpGet, metricValue, startCli, tempDir } from '../../helpers/cli-process.js';

const MANIFEST = '/v2/library/x/manifests/latest';

/** name → weight of every upstream in a "configuration in effect" line, wherever the line nests them. */
function loggedWeights(line: unknown, into: Record<string, number> = {}): Record<string, number> {
  if (Array.isArray(line)) for (const item of line) loggedWeights(item, into);
  else if (line !== null && typeof line === 'object') {
    const record = line as Record<string, unknown>;
    if (typeof record['name'] === 'string' && typeof record['weight'] === 'number') into[record['name']] = record['weight'];
    for (const value of Object.values(record)) loggedWeights(value, into);
  }
  return into;
}

t.test('SIGHUP and file changes reload; an invalid file keeps the last good config', { timeout: 60_000 }, async (t) => {
  const a = await startFakeUpstream(registryAnswer('{"from":"a"}'));
  t.teardown(() => a.close());
  const b = await startFakeUpstream(registryAnswer('{"from":"b"}'));
  t.teardown(() => b.close());

  const root = await tempDir(t);
  const watched = join(root, 'watched');
  const store = join(root, 'store');
  await mkdir(watched);
  await mkdir(store);
  const file = join(watched, 'mirrorgate.yaml');
  const target = join(store, 'mirrorgate.yaml');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;

  const config = (wa: number, wb: number): string =>
    [
      `listen: "127.0.0.1:${port}"`,
      'upstreams:',
      `  - { name: a, url: "${a.url}", weight: ${wa} }`,
      `  - { name: b, url: "${b.url}", weight: ${wb} }`,
      // The mirrors count the balancer's requests: no health checks among them.
      'health: false',
      '',
    ].join('\n');
  // Line 4 col 13: a negative weight; line 6: an unknown key (its column depends on the URL's length).
  const invalidLines = [
    `listen: "127.0.0.1:${port}"`,
    'upstreams:',
    `  - name: a`,
    `    weight: -1`,
    `    url: "${a.url}"`,
    `  - { name: b, url: "${b.url}", weight: 1, colour: red }`,
    '',
  ];
  const invalid = invalidLines.join('\n');
  const colourCol = invalidLines[5]!.indexOf('colour') + 1;

  /** n requests; returns which upstream answered each. */
  async function answers(n: number): Promise<string[]> {
    const from: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await httpGet(base + MANIFEST);
      from.push(res.status === 200 ? (JSON.parse(res.body.toString('utf8')) as { from: string }).from : `status ${res.status}`);
    }
    return from;
  }
  async function reloads(): Promise<{ success: number | undefined; error: number | undefined }> {
    const res = await httpGet(`${base}/metrics`);
    const text = res.body.toString('utf8');
    return {
      success: metricValue(text, 'mirrorgate_config_reload_total', { result: 'success' }),
      error: metricValue(text, 'mirrorgate_config_reload_total', { result: 'error' }),
    };
  }
  const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 400));

  // 1. a:1, b:0 — b is drained.
  await writeFile(target, config(1, 0));
  await symlink(target, file);
  const proc = startCli(t, ['serve', '-c', file]);
  t.equal(await proc.listening(), port, 'listening');
  t.same(await answers(6), Array(6).fill('a'), 'weights a:1 b:0: every request goes to a');
  t.equal(b.requests.length, 0, 'b saw nothing');

  // 2. a:0, b:1 + SIGHUP.
  let mark = proc.mark();
  await writeFile(target, config(0, 1));
  proc.signal('SIGHUP');
  await proc.waitForLog((l) => l['event'] === 'reload' && l['msg'] === 'configuration reloaded', { since: mark, what: 'the SIGHUP reload' });
  const inEffect = await proc.waitForLog((l) => l['event'] === 'config', { since: mark, what: 'the new configuration' });
  t.same(loggedWeights(inEffect), { a: 0, b: 1 }, 'the new weights are logged');
  const aBefore = a.requests.length;
  t.same(await answers(6), Array(6).fill('b'), 'after SIGHUP with a:0 b:1: every request goes to b');
  t.equal(a.requests.length, aBefore, 'a saw nothing more');

  // 3. An invalid file + SIGHUP: refused, b keeps serving.
  mark = proc.mark();
  await writeFile(target, invalid);
  proc.signal('SIGHUP');
  const failed = await proc.waitForLog((l) => l['event'] === 'reload' && l['level'] === 50, { since: mark, what: 'the reload error line' });
  t.match(failed['msg'], /reload failed/, 'says the reload failed');
  t.equal(failed['source'], file, 'names the file');
  const problems = failed['problems'] as string[];
  t.equal(problems.length, 2, `two problems: ${JSON.stringify(problems)}`);
  t.equal(problems[0], `${file}:4:13 upstreams[0].weight: must be an integer >= 0, got -1`, 'the negative weight, with line:col');
  t.ok(
    problems[1]?.startsWith(`${file}:6:${colourCol} upstreams[1].colour: unknown key; expected one of name, url, `),
    `the unknown key, with line:col: ${problems[1]}`,
  );
  await settle();
  t.equal(proc.exited, undefined, 'still running');
  t.same(await answers(4), Array(4).fill('b'), 'the last good config (a:0 b:1) keeps serving');
  t.same(await reloads(), { success: 1, error: 1 }, 'mirrorgate_config_reload_total: success 1, error 1');

  // 4. A valid a:1, b:0 file swapped into the watched folder, no signal.
  mark = proc.mark();
  const next = join(watched, '.mirrorgate.yaml.tmp');
  await writeFile(next, config(1, 0));
  await rename(next, file);
  await eventually(async () => (await reloads()).success === 2, 'the file watcher reloads (success = 2)', 5000);
  await proc.waitForLog((l) => l['event'] === 'reload' && l['msg'] === 'configuration reloaded', { since: mark, what: 'the watcher reload' });
  t.same(await answers(6), Array(6).fill('a'), 'after the file change: every request goes to a again');
  await settle();
  t.same(await reloads(), { success: 2, error: 1 }, 'mirrorgate_config_reload_total: success 2, error 1');
  t.same(
    proc.stderr.filter((l) => l !== ''),
    [],
    'nothing on stderr',
  );
});
