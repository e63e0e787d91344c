/**
 * podman pulling docker.io names through mirrorgate with the `[[registry.mirror]]` entry
 * `mirrorgate client-config` wrote (insecure: the gateway is plain HTTP here), vfs storage.
 */
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { writeClientFiles } from './helpers/client-config.js';
import { describeCommand } from './helpers/command.js';
import { prepareImages, pushFixtures, type TestImages } from './helpers/fixtures.js';
import { startGatewayProcess, type GatewayProcess } from './helpers/gateway-process.js';
import { PODMAN_BINARIES, podmanIn, type Podman } from './helpers/podman.js';
import { startRegistry, type RunningRegistry } from './helpers/registry.js';
import { pushImage } from './helpers/skopeo.js';
import { e2eSuite } from './helpers/suite.js';
import { startTlsGateway, TLS_PASSWORD, TLS_USER } from './helpers/tls-gateway.js';
import { requireClientTools } from './helpers/tools.js';

/** Readable only by the htpasswd user on the TLS gateway. */
const PRIVATE_IMAGE = 'private/only-one:1';

if (requireClientTools(t, PODMAN_BINARIES, 'apt-get install podman', { root: true })) {
  const suite = (await e2eSuite(t, 'podman'))!;
  const { root, work } = suite;
  let images!: TestImages;
  let hub!: RunningRegistry;
  let g!: GatewayProcess;
  let podman!: Podman;
  t.teardown(() => hub?.stop());

  const pull = async (t: Test, ref: string, platform?: string): Promise<boolean> => {
    const r = await podman(['pull', ...(platform === undefined ? [] : ['--platform', platform]), ref]);
    if (r.code === 0) return true;
    t.fail(`podman pull ${ref} failed: ${describeCommand(r)}`);
    return false;
  };
  const inspect = async (ref: string): Promise<{ Id: string; Digest: string; Architecture: string }> =>
    (JSON.parse((await podman(['image', 'inspect', ref])).stdout) as { Id: string; Digest: string; Architecture: string }[])[0]!;

  await t.test('podman set up with the generated registries.conf', { timeout: 120_000 }, async (t) => {
    images = await prepareImages(join(work, 'images'));
    hub = await startRegistry();
    await pushFixtures(images, hub.url, { only: ['alpine', 'multi'], timeoutMs: 90_000 });
    await pushImage(images.list.find((e) => e.key === 'onlyOne')!.dir, hub.url, PRIVATE_IMAGE, { timeoutMs: 90_000 });
    g = await startGatewayProcess(
      root,
      work,
      `upstreams:
  - { name: hub-mirror, url: "${hub.url}", timeouts: { connect: 2s, headers: 10s, idle: 20s } }
log: { level: info }
`,
    );
    const files = await writeClientFiles(root, g.configFile, join(work, 'client'));
    podman = await podmanIn(join(work, 'podman'), files.registriesConf);
    const info = await podman(['info', '--format', '{{json .Registries}}'], 30_000);
    const registries = JSON.parse(info.stdout) as Record<string, { Mirrors: { Location: string; Insecure: boolean }[] }>;
    t.same(registries['docker.io']?.Mirrors, [{ Location: g.host, Insecure: true, PullFromMirror: '' }], '`podman info` lists the gateway as docker.io mirror');
  });

  await t.test('podman pull of a docker.io image through the mirror', async (t) => {
    const before = await g.metric('mirrorgate_requests_total');
    if (!(await pull(t, `docker.io/${images.alpine.ref}`))) return;
    const image = await inspect(`docker.io/${images.alpine.ref}`);
    t.equal(`sha256:${image.Id}`, images.alpine.configDigest, 'the image is the pushed one (its config digest)');
    t.equal(image.Digest, images.alpine.manifestDigest);
    t.ok((await g.metric('mirrorgate_requests_total')) - before >= 2 + images.alpine.layers.length, 'the manifest, config and layers came through the gateway');
  });

  await t.test('podman pull --platform linux/arm64 of a multi-arch index', async (t) => {
    if (!(await pull(t, `docker.io/${images.multi.ref}`, 'linux/arm64'))) return;
    const image = await inspect(`docker.io/${images.multi.ref}`);
    t.equal(image.Architecture, 'arm64');
    t.equal(`sha256:${image.Id}`, images.multi.images.find((i) => i.platform.architecture === 'arm64')!.configDigest);
  });

  await t.test('over TLS (the test CA in --cert-dir), and a private repository without credentials and after podman login', async (t) => {
    const tls = await startTlsGateway(
      root,
      work,
      `upstreams:
  - { name: hub-tls, url: "${hub.url}", timeouts: { connect: 2s, headers: 10s, idle: 20s } }
log: { level: info }`,
    );
    const secure = await podmanIn(join(work, 'podman-tls'), tls.files.registriesConf);
    const certDir = join(tls.files.root, 'etc/containers/certs.d', tls.host);
    const info = JSON.parse((await secure(['info', '--format', '{{json .Registries}}'], 30_000)).stdout) as Record<
      string,
      { Mirrors: { Location: string; Insecure: boolean }[] }
    >;
    t.match(info['docker.io']?.Mirrors, [{ Location: tls.host, Insecure: false }], 'the HTTPS listener, verified');
    const anonymous = await secure(['pull', '--cert-dir', certDir, `docker.io/${images.alpine.ref}`]);
    t.equal(anonymous.code, 0, describeCommand(anonymous));
    const denied = await tls.g.metric('mirrorgate_access_denied_total');
    const refused = await secure(['pull', '--cert-dir', certDir, `docker.io/${PRIVATE_IMAGE}`]);
    t.not(refused.code, 0, 'without credentials the private image is refused');
    t.ok((await tls.g.metric('mirrorgate_access_denied_total')) > denied, 'the gateway counted the refusal');
    // Not `pull --creds`: containers/image never sends those to a mirror (they are meant for the
    // registry named in the reference); a mirror gets the auth file's entry for its own host.
    const wrong = await secure(['login', '--cert-dir', certDir, '-u', TLS_USER, '-p', 'not-the-password', tls.host]);
    t.not(wrong.code, 0, 'podman login with a wrong password fails');
    const login = await secure(['login', '--cert-dir', certDir, '-u', TLS_USER, '-p', TLS_PASSWORD, tls.host]);
    t.equal(login.code, 0, describeCommand(login));
    const withCreds = await secure(['pull', '--cert-dir', certDir, `docker.io/${PRIVATE_IMAGE}`]);
    t.equal(withCreds.code, 0, describeCommand(withCreds));
    const [image] = JSON.parse((await secure(['image', 'inspect', `docker.io/${PRIVATE_IMAGE}`])).stdout) as { Digest: string }[];
    t.equal(image?.Digest, images.onlyOne.manifestDigest, 'after podman login to the gateway it is pulled');
  });

  await t.test('mirrorgate stopped: podman says the mirror failed, then docker.io, and ends', async (t) => {
    await g.cli.kill();
    const r = await podman(['pull', `docker.io/${images.onlyOne.ref}`], 90_000);
    t.not(r.code, 0, 'the pull fails');
    t.notOk(r.timedOut, `and ends on its own (${r.durationMs} ms)`);
    t.match(r.stderr, `Mirrors also failed: [${g.host}/${images.onlyOne.ref}`, 'the mirror was tried first');
    t.match(r.stderr, /registry-1\.docker\.io|docker\.io\/library/, `then docker.io: ${r.stderr.trim()}`);
  });
}
