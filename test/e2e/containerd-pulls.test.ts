/**
 * containerd pulling through mirrorgate with the certs.d/<registry>/hosts.toml files
 * `mirrorgate client-config` wrote (`ctr images pull --hosts-dir`), one containerd for the
 * whole file. containerd adds `?ns=<registry>` to each request, which is how one gateway
 * address serves both docker.io and ghcr.io here.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { writeClientFiles, type ClientFilesDir } from './helpers/client-config.js';
import { describeCommand, runCommand, type CommandResult } from './helpers/command.js';
import { CONTAINERD_BINARIES, startContainerd, type Containerd } from './helpers/containerd.js';
import { prepareImages, pushFixtures, type TestImages } from './helpers/fixtures.js';
import { startGatewayProcess, type GatewayProcess } from './helpers/gateway-process.js';
import { startRegistry, type RunningRegistry } from './helpers/registry.js';
import { pushImage } from './helpers/skopeo.js';
import { e2eSuite } from './helpers/suite.js';
import { startTlsGateway, TLS_PASSWORD, TLS_USER } from './helpers/tls-gateway.js';
import { requireClientTools } from './helpers/tools.js';

const GHCR_IMAGE = 'mirrorgate/tool:1';
/** On the docker.io registry, readable only by the htpasswd user on the TLS gateway. */
const PRIVATE_IMAGE = 'private/only-one:1';

if (requireClientTools(t, CONTAINERD_BINARIES, 'apt-get install containerd', { root: true })) {
  const suite = (await e2eSuite(t, 'containerd'))!;
  const { root, work } = suite;
  let images!: TestImages;
  let hub!: RunningRegistry;
  let ghcr!: RunningRegistry;
  let g!: GatewayProcess;
  let c!: Containerd;
  let files!: ClientFilesDir;
  t.teardown(async () => {
    await c?.daemon.stop();
    await Promise.all([hub?.stop(), ghcr?.stop()]);
  });

  const ctrPull = (ref: string, opts: { platform?: string; hostsDir?: string; user?: string } = {}): Promise<CommandResult> =>
    c.ctr([
      'images',
      'pull',
      '--hosts-dir',
      opts.hostsDir ?? files.certsDir,
      '--snapshotter',
      'native',
      ...(opts.platform === undefined ? [] : ['--platform', opts.platform]),
      ...(opts.user === undefined ? [] : ['--user', opts.user]),
      ref,
    ]);
  const pull = async (t: Test, ref: string, platform?: string, opts: { hostsDir?: string; user?: string } = {}): Promise<boolean> => {
    const r = await ctrPull(ref, { ...opts, ...(platform === undefined ? {} : { platform }) });
    if (r.code === 0) return true;
    t.fail(`ctr images pull ${ref} failed: ${describeCommand(r)}`);
    return false;
  };
  /** The digest the image record points at (`ctr images ls`: REF TYPE DIGEST …). */
  const imageDigest = async (ref: string): Promise<string | undefined> => {
    const ls = await c.ctr(['images', 'ls', `name==${ref}`]);
    return ls.stdout
      .split('\n')
      .find((line) => line.startsWith(`${ref} `))
      ?.split(/\s+/)[2];
  };
  const content = async (): Promise<string> => (await c.ctr(['content', 'ls', '-q'])).stdout;
  const requestsFor = (registry: string): Promise<number> => g.metric('mirrorgate_requests_total', { registry });

  await t.test('containerd set up, with the generated hosts.toml files', { timeout: 180_000 }, async (t) => {
    images = await prepareImages(join(work, 'images'));
    [hub, ghcr] = await Promise.all([startRegistry(), startRegistry()]);
    await pushFixtures(images, hub.url, { only: ['alpine', 'multi'], timeoutMs: 90_000 });
    const onlyOneDir = images.list.find((e) => e.key === 'onlyOne')!.dir;
    await pushImage(onlyOneDir, ghcr.url, GHCR_IMAGE, { timeoutMs: 90_000 });
    await pushImage(onlyOneDir, hub.url, PRIVATE_IMAGE, { timeoutMs: 90_000 });
    g = await startGatewayProcess(
      root,
      work,
      `upstreams:
  - { name: hub-mirror, url: "${hub.url}", timeouts: { connect: 2s, headers: 10s, idle: 20s } }
registries:
  ghcr.io:
    upstreams:
      - { name: ghcr-mirror, url: "${ghcr.url}", timeouts: { connect: 2s, headers: 10s, idle: 20s } }
log: { level: info }
`,
    );
    [files, c] = await Promise.all([writeClientFiles(root, g.configFile, join(work, 'client')), startContainerd(join(work, 'containerd'))]);
    t.pass(`containerd pid ${c.daemon.pid}, hosts dir ${files.certsDir}`);
  });

  await t.test('ctr pull of a docker.io image through its hosts.toml', async (t) => {
    const before = await requestsFor('docker.io');
    if (!(await pull(t, `docker.io/${images.alpine.ref}`))) return;
    t.equal(await imageDigest(`docker.io/${images.alpine.ref}`), images.alpine.manifestDigest);
    const have = await content();
    for (const layer of images.alpine.layerDigests) t.match(have, layer, `layer ${layer} is in containerd's content store`);
    t.ok((await requestsFor('docker.io')) - before >= 2 + images.alpine.layers.length, 'the manifest, config and layers came through the gateway');
  });

  await t.test('ctr pull --platform linux/arm64 of a multi-arch index takes the arm64 image only', async (t) => {
    if (!(await pull(t, `docker.io/${images.multi.ref}`, 'linux/arm64'))) return;
    t.equal(await imageDigest(`docker.io/${images.multi.ref}`), images.multi.indexDigest, 'the image is the index');
    const [amd64, arm64] = [
      images.multi.images.find((i) => i.platform.architecture === 'amd64')!,
      images.multi.images.find((i) => i.platform.architecture === 'arm64')!,
    ];
    const have = await content();
    t.match(have, arm64.manifestDigest, 'the arm64 manifest was fetched');
    t.match(have, arm64.layerDigests[0]!, 'and its layer');
    t.notMatch(have, amd64.layerDigests[0]!, "the amd64 image's layer was not");
  });

  await t.test('ctr pull of a ghcr.io image: ?ns=ghcr.io reaches the ghcr registry through the same gateway address', async (t) => {
    const [ghcrBefore, hubBefore] = [await requestsFor('ghcr.io'), await requestsFor('docker.io')];
    if (!(await pull(t, `ghcr.io/${GHCR_IMAGE}`))) return;
    t.equal(await imageDigest(`ghcr.io/${GHCR_IMAGE}`), images.onlyOne.manifestDigest);
    t.ok((await requestsFor('ghcr.io')) - ghcrBefore >= 3, 'counted under registry="ghcr.io"');
    t.equal(await requestsFor('docker.io'), hubBefore, 'the docker.io registry was not asked');
  });

  await t.test("the Kubernetes node fragment: containerd's merged config takes config_path from it", async (t) => {
    const config = join(work, 'node-config.toml');
    await writeFile(config, `version = 2\nimports = [${JSON.stringify(join(files.root, 'etc/containerd/conf.d/mirrorgate.toml'))}]\n`);
    const dump = await runCommand('containerd', ['--config', config, 'config', 'dump'], { timeoutMs: 30_000 });
    t.equal(dump.code, 0, describeCommand(dump));
    const registry = /^\s*\[plugins\."io\.containerd\.grpc\.v1\.cri"\.registry\]\n\s*config_path = "([^"]*)"/m.exec(dump.stdout);
    t.equal(registry?.[1], '/etc/containerd/certs.d', 'the CRI plugin reads hosts.toml files from /etc/containerd/certs.d');
  });

  await t.test('over TLS (hosts.toml ca = the test CA), and a private repository with and without credentials', async (t) => {
    const tls = await startTlsGateway(
      root,
      work,
      `upstreams:
  - { name: hub-tls, url: "${hub.url}", timeouts: { connect: 2s, headers: 10s, idle: 20s } }
log: { level: info }`,
    );
    const hostsDir = tls.files.certsDir;
    const hosts = await readFile(join(hostsDir, 'docker.io/hosts.toml'), 'utf8');
    t.match(hosts, `[host."https://${tls.host}"]`, 'the generated hosts.toml names the HTTPS listener');
    t.match(hosts, /^ {2}ca = "mirrorgate-ca\.crt"$/m);
    const amd64 = images.multi.images.find((i) => i.platform.architecture === 'amd64')!;
    if (!(await pull(t, `docker.io/${images.multi.ref}`, 'linux/amd64', { hostsDir }))) return;
    t.match(await content(), amd64.layerDigests[0]!, 'the amd64 image came over TLS, anonymously (library/*)');

    const denied = await tls.g.metric('mirrorgate_access_denied_total');
    const anonymous = await ctrPull(`docker.io/${PRIVATE_IMAGE}`, { hostsDir });
    t.not(anonymous.code, 0, 'without credentials the private image is refused');
    t.ok((await tls.g.metric('mirrorgate_access_denied_total')) > denied, 'the gateway counted the refusal');
    if (!(await pull(t, `docker.io/${PRIVATE_IMAGE}`, undefined, { hostsDir, user: `${TLS_USER}:${TLS_PASSWORD}` }))) return;
    t.equal(await imageDigest(`docker.io/${PRIVATE_IMAGE}`), images.onlyOne.manifestDigest, 'with --user it is pulled');
  });
}
