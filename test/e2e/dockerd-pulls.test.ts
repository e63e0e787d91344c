/**
 * dockerd — the client the gateway is for — pulling through mirrorgate with the daemon.json
 * `mirrorgate client-config` wrote (`registry-mirrors`, `insecure-registries`), one dockerd
 * for the whole file. dockerd uses its mirrors for docker.io names only, so the images sit in
 * the real registries under docker.io names (library/…) and are pulled as `alpine-test:1`.
 */
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { writeClientFiles } from './helpers/client-config.js';
import { describeCommand } from './helpers/command.js';
import { DOCKERD_BINARIES, startDockerd, type Dockerd } from './helpers/dockerd.js';
import { prepareImages, pushFixtures, type TestImages } from './helpers/fixtures.js';
import { startGatewayProcess, type GatewayProcess } from './helpers/gateway-process.js';
import { startRegistry, type RunningRegistry } from './helpers/registry.js';
import { e2eSuite } from './helpers/suite.js';
import { requireClientTools } from './helpers/tools.js';

/** The host's platform as an index names it (the fixtures' index has amd64 and arm64). */
const HOST_ARCH = process.arch === 'x64' ? 'amd64' : process.arch;

if (requireClientTools(t, DOCKERD_BINARIES, 'apt-get install docker.io', { root: true })) {
  const suite = (await e2eSuite(t, 'dockerd'))!;
  const { root, work } = suite;
  let images!: TestImages;
  let a!: RunningRegistry;
  let b!: RunningRegistry;
  let g!: GatewayProcess;
  let d!: Dockerd;
  t.teardown(async () => {
    await d?.daemon.stop();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  const pull = async (t: Test, ref: string, platform?: string): Promise<boolean> => {
    const r = await d.docker(['pull', ...(platform === undefined ? [] : ['--platform', platform]), ref]);
    if (r.code === 0) return true;
    t.fail(`docker pull ${ref} failed: ${describeCommand(r)}\ndockerd:\n${d.daemon.logs().slice(-4000)}`);
    return false;
  };
  const inspect = async (ref: string): Promise<{ Id: string; RepoDigests: string[]; Architecture: string }> =>
    JSON.parse((await d.docker(['image', 'inspect', '--format', '{{json .}}', ref])).stdout) as { Id: string; RepoDigests: string[]; Architecture: string };
  const removeImage = async (ref: string): Promise<void> => {
    const r = await d.docker(['image', 'rm', ref]);
    if (r.code !== 0) throw new Error(`docker image rm ${ref}: ${describeCommand(r)}`);
  };
  const requests = (): Promise<number> => g.metric('mirrorgate_requests_total');

  await t.test('dockerd set up from the generated daemon.json', { timeout: 180_000 }, async (t) => {
    images = await prepareImages(join(work, 'images'));
    [a, b] = await Promise.all([startRegistry(), startRegistry()]);
    await pushFixtures(images, a.url, { only: ['alpine', 'multi'], timeoutMs: 90_000 });
    await pushFixtures(images, b.url, { timeoutMs: 90_000 });
    g = await startGatewayProcess(
      root,
      work,
      `upstreams:
  - { name: a, url: "${a.url}", timeouts: { connect: 2s, headers: 10s, idle: 20s } }
  - { name: b, url: "${b.url}", timeouts: { connect: 2s, headers: 10s, idle: 20s } }
failover: { maxAttempts: 2, on404: true }
log: { level: info }
`,
    );
    const files = await writeClientFiles(root, g.configFile, join(work, 'client'));
    d = await startDockerd(join(work, 'dockerd'), files.daemonJson);
    const info = await d.docker(['info', '--format', '{{json .RegistryConfig.Mirrors}}']);
    t.same(JSON.parse(info.stdout), [`${g.url}/`], '`docker info` lists the gateway as the registry mirror');
  });

  await t.test('docker pull of an image', async (t) => {
    const before = await requests();
    if (!(await pull(t, 'alpine-test:1'))) return;
    const image = await inspect('alpine-test:1');
    t.equal(image.Id, images.alpine.configDigest, 'the image is the pushed one (its config digest)');
    t.ok(image.RepoDigests.includes(`alpine-test@${images.alpine.manifestDigest}`), `pulled by the manifest digest (${image.RepoDigests.join(', ')})`);
    t.ok((await requests()) - before >= 2 + images.alpine.layers.length, 'the manifest, config and layers came through the gateway');
  });

  await t.test('docker pull of a multi-arch index: the host platform, then --platform linux/arm64', async (t) => {
    if (!(await pull(t, 'multi:1'))) return;
    const host = await inspect('multi:1');
    t.equal(host.Architecture, HOST_ARCH);
    t.equal(host.Id, images.multi.images.find((i) => i.platform.architecture === HOST_ARCH)!.configDigest);
    t.ok(host.RepoDigests.includes(`multi@${images.multi.indexDigest}`), 'the tag resolved to the index');
    if (!(await pull(t, 'multi:1', 'linux/arm64'))) return;
    const arm = await inspect('multi:1');
    t.equal(arm.Architecture, 'arm64');
    t.equal(arm.Id, images.multi.images.find((i) => i.platform.architecture === 'arm64')!.configDigest);
  });

  await t.test('docker pull of an image only one upstream holds', async (t) => {
    const fromB = await g.metric('mirrorgate_upstream_selected_total', { upstream: 'b' });
    if (!(await pull(t, 'only-one:1'))) return;
    t.equal((await inspect('only-one:1')).Id, images.onlyOne.configDigest);
    t.ok((await g.metric('mirrorgate_upstream_selected_total', { upstream: 'b' })) > fromB, 'b answered');
  });

  await t.test('an upstream stopped while the gateway runs: the pull goes to the other', async (t) => {
    await removeImage('alpine-test:1');
    await a.stop();
    const fromB = await g.metric('mirrorgate_upstream_selected_total', { upstream: 'b' });
    if (!(await pull(t, 'alpine-test:1'))) return;
    t.equal((await inspect('alpine-test:1')).Id, images.alpine.configDigest);
    t.ok((await g.metric('mirrorgate_upstream_selected_total', { upstream: 'b' })) - fromB >= 2 + images.alpine.layers.length, 'all of it from b');
  });

  await t.test('mirrorgate stopped: dockerd falls back to registry-1.docker.io, which this machine cannot reach', async (t) => {
    await removeImage('only-one:1');
    await g.cli.kill();
    const r = await d.docker(['pull', 'only-one:1'], 90_000);
    t.not(r.code, 0, 'the pull fails');
    t.notOk(r.timedOut, `and ends on its own (${r.durationMs} ms)`);
    // With no DNS: `dial tcp: lookup registry-1.docker.io … no such host`; with internet: Docker
    // Hub's "pull access denied" for a name it does not have. Either way, docker.io's answer.
    t.match(r.stderr, /registry-1\.docker\.io|pull access denied/, `the error is docker.io's: ${r.stderr.trim()}`);
    const tried = d.daemon
      .logs()
      .split('\n')
      .filter((line) => line.includes(g.host) && line.includes('connection refused'));
    t.ok(tried.length > 0, 'dockerd tried the mirror first (its log names the refused connection)');
    t.comment(tried[0] ?? '');
  });
}
