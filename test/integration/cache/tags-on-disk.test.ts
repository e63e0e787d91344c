/**
 * Tags outlive a restart (cache/tag-file.ts): a gateway restarted with every mirror down still
 * answers a tag it had learned, STALE, from the tags and manifests it kept on disk; a tags file
 * that does not parse is ignored.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { registryAnswer, registryStatus, startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

const MANIFEST = '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}';
const PATH = '/v2/library/x/manifests/v1';

t.test('a restarted gateway with every mirror down still answers a tag it learned before, STALE', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mirrorgate-tags-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const mirror = await startFakeUpstream(registryAnswer(MANIFEST));
  t.teardown(() => mirror.close());
  const yaml = upstreamsYaml([['u', mirror.url, 1]]) + `cache: { dir: "${dir}", tags: { ttl: 0s } }\n`;

  const first = await startGateway(yaml);
  t.equal(await (await fetch(`${first.url}${PATH}`)).text(), MANIFEST);
  await first.close();
  const saved = JSON.parse(await readFile(join(dir, 'tags.json'), 'utf8')) as { tags: [string, string, number][] };
  t.equal(saved.tags.length, 1, 'the tag was written at shutdown');
  t.match(saved.tags[0]?.[0], /^docker\.io\/library\/x:v1 /);

  mirror.handle(registryStatus(503, 'UNAVAILABLE'));
  const second = await startGateway(yaml);
  t.teardown(() => second.close());
  const answer = await fetch(`${second.url}${PATH}`);
  t.equal(answer.status, 200);
  t.equal(answer.headers.get('x-cache'), 'STALE', 'from the tags and the manifest kept on disk');
  t.equal(await answer.text(), MANIFEST);
  t.ok(
    second.logs().some((line) => line['tags'] === 1 && line['event'] === 'cache'),
    'the restore is logged',
  );
});

t.test('a tags file that does not parse is ignored: the gateway starts and learns tags again', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mirrorgate-tags-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'tags.json'), '{"tags": [["k", "not-a-digest", 1], ');
  const mirror = await startFakeUpstream(registryAnswer(MANIFEST));
  t.teardown(() => mirror.close());
  const gw = await startGateway(upstreamsYaml([['u', mirror.url, 1]]) + `cache: { dir: "${dir}" }\n`);
  t.teardown(() => gw.close());
  t.equal(await (await fetch(`${gw.url}${PATH}`)).text(), MANIFEST);
  t.equal(mirror.requests.length, 1, 'asked upstream: nothing was restored');
});
