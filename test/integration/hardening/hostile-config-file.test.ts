/**
 * Issue 13, item 3: a config file cannot freeze the gateway. Aliases are resolved in one walk
 * (16k of them cost 36 s of CPU before), the file's size and alias count are capped with an
 * error naming the file, and a reload parses and validates in a worker thread, so `/healthz`
 * answers while a slow file is being read. CPU bounds are generous; no wall-clock assertions.
 */
import { writeFile } from 'node:fs/promises';
import t from 'tap';
import { ConfigError, parseConfig } from '../../../src/config/load.js';
import { registryAnswer, startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

const UPSTREAMS = 'upstreams:\n  - &hub { name: hub, url: "https://registry-1.docker.io" }\n';

/** CPU seconds (user + system) that `work` took in this process. */
function cpuSeconds(work: () => void): number {
  const before = process.cpuUsage();
  work();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}

function problemsOf(text: string): string {
  try {
    parseConfig(text, 'conf/hostile.yaml', {});
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  return '';
}

t.test('a file with 16k aliases is rejected, naming the file, within a CPU-time bound', async (t) => {
  const aliases = Array.from({ length: 16_384 }, () => '*a').join(', ');
  const text = `x: &a [1]\nmore: [${aliases}]\n${UPSTREAMS}`;
  let message = '';
  const seconds = cpuSeconds(() => (message = problemsOf(text)));
  t.ok(seconds < 2, `${seconds.toFixed(3)} s of CPU`);
  t.match(message, /^conf\/hostile\.yaml:1:1 the file has 16384 aliases; at most 1000 are allowed$/);
});

t.test('aliases under the cap are resolved in one walk, however large the document', async (t) => {
  // 999 aliases over a document of 50k nodes: one walk per alias (the old way) is 50M node visits.
  const filler = Array.from({ length: 50_000 }, () => '0').join(',');
  const items = Array.from({ length: 999 }, () => '      - *hub').join('\n');
  const text = `${UPSTREAMS}registries:\n  ghcr.io:\n    upstreams:\n${items}\nfiller: [${filler}]\n`;
  let message = '';
  const seconds = cpuSeconds(() => (message = problemsOf(text)));
  t.ok(seconds < 2, `${seconds.toFixed(3)} s of CPU`);
  t.match(message, /filler: unknown key/, 'validated all the way (the aliases resolved)');
});

t.test('a file larger than 1 MiB is rejected before it is parsed, naming the file', async (t) => {
  const text = `${UPSTREAMS}# ${'x'.repeat(1024 * 1024)}\n`;
  t.match(problemsOf(text), /^conf\/hostile\.yaml:1:1 the file is \d+ bytes; a config file may be at most 1048576 bytes$/);
});

t.test('/healthz answers while a reload reads a slow file; the bad file is refused, the running config stays', async (t) => {
  const upstream = await startFakeUpstream(registryAnswer('{}'));
  t.teardown(() => upstream.close());
  const gw = await startGateway(upstreamsYaml([['u', upstream.url, 1]]));
  t.teardown(() => gw.close());
  // Just under the size cap, and slow to parse: a few hundred milliseconds of synchronous work.
  const entries = Array.from({ length: 30_000 }, (_, i) => `  k${i}: [a, b]`).join('\n');
  await gw.writeConfig(`${upstreamsYaml([['u', upstream.url, 1]])}slow:\n${entries}\n`);

  let pending = true;
  const reloaded = gw.app.reload().finally(() => (pending = false));
  let answeredMidReload = 0;
  while (pending) {
    const res = await fetch(`${gw.url}/healthz`);
    await res.text();
    if (res.status === 200 && pending) answeredMidReload++;
  }
  t.equal(await reloaded, false, 'the reload failed (unknown key)');
  t.ok(answeredMidReload >= 10, `/healthz answered ${answeredMidReload} times while the reload ran`);
  t.equal((await fetch(`${gw.url}/v2/library/x/manifests/latest`)).status, 200, 'the running config still serves');
  t.ok(
    gw.logs().some((line) => line['event'] === 'reload' && JSON.stringify(line['problems']).includes('slow: unknown key')),
    'the problems are logged',
  );
});

t.test('a reload of a good file still applies (through the worker thread)', async (t) => {
  const a = await startFakeUpstream(registryAnswer('{"from":"a"}'));
  t.teardown(() => a.close());
  const b = await startFakeUpstream(registryAnswer('{"from":"b"}'));
  t.teardown(() => b.close());
  const gw = await startGateway(upstreamsYaml([['a', a.url, 1]]));
  t.teardown(() => gw.close());
  await gw.writeConfig(upstreamsYaml([['b', b.url, 1]]));
  t.equal(await gw.app.reload(), true);
  t.equal(await (await fetch(`${gw.url}/v2/library/x/manifests/latest`)).text(), '{"from":"b"}');
  t.ok(Object.isFrozen(gw.app.gateway.current.config.upstreams[0]), 'the Config is frozen again');
  await writeFile(gw.configFile, 'upstreams: [');
  t.equal(await gw.app.reload(), false, 'a syntax error is reported as before');
});
