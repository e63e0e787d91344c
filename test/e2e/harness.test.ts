/**
 * Self-test of the e2e harness against a real registry (no gateway involved):
 * build the fixture images offline, push them with skopeo, pull them back, check
 * digests and layer contents, and exercise freeze/thaw/stop.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import t from 'tap';
import { BIG_LAYER_BYTES, prepareImages, pushFixtures, type TestImages } from './helpers/fixtures.js';
import { httpGet, HttpTimeoutError } from './helpers/http.js';
import { blobPath, MEDIA_TYPES, parseTar } from './helpers/oci-image.js';
import { RegistryStartError, startRegistry, type RunningRegistry } from './helpers/registry.js';
import { describeSkopeoResult, pullImage, verifyOciLayout } from './helpers/skopeo.js';
import { tempDir } from './helpers/tmp.js';
import { requireE2eTools } from './helpers/tools.js';

const sha256 = (b: Buffer): string => 'sha256:' + createHash('sha256').update(b).digest('hex');

const ACCEPT_ALL = [MEDIA_TYPES.manifest, MEDIA_TYPES.index].join(', ');

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

if (requireE2eTools(t)) {
  const started = Date.now();
  const work = await tempDir(t, 'mirrorgate-e2e-harness-');
  let images!: TestImages;
  let reg!: RunningRegistry;

  t.teardown(() => {
    t.comment(`harness self-test took ${Date.now() - started} ms`);
  });

  await t.test('build fixture images offline', { timeout: 60_000 }, async (t) => {
    const t0 = Date.now();
    images = await prepareImages(join(work, 'images'));
    t.comment(`fixtures built in ${Date.now() - t0} ms`);
    t.equal(images.alpine.layers.length, 3, 'alpine-test has 3 layers');
    const big = images.alpine.layers[2];
    t.ok(big && big.uncompressedSize >= 20_000_000 && big.size >= 20_000_000, 'alpine-test has a >= 20 MB layer');
    t.ok(big && big.uncompressedSize > BIG_LAYER_BYTES, 'big layer tar holds the random file');
    t.equal(images.multi.manifestDigests.length, 2, 'multi has 2 platform manifests');
    t.same(
      images.multi.images.map((i) => i.platform),
      [
        { architecture: 'amd64', os: 'linux' },
        { architecture: 'arm64', os: 'linux', variant: 'v8' },
      ],
      'platforms amd64 + arm64/v8',
    );
    // The built layouts are themselves valid.
    for (const e of images.list) {
      const v = await verifyOciLayout(e.dir);
      t.same(v.digests, [e.digest], `${e.ref}: built layout has exactly the tagged top-level digest`);
    }
    // Memoized: a second call returns the same build.
    t.equal(await prepareImages(join(work, 'images')), images, 'prepareImages is memoized per workDir');
  });

  await t.test('start registry', { timeout: 20_000 }, async (t) => {
    reg = await startRegistry(); // stopped by the root teardown below (a subtest teardown would run too early)
    t.match(reg.url, /^http:\/\/127\.0\.0\.1:\d+$/, 'url');
    t.equal(reg.url, `http://127.0.0.1:${reg.port}`);
    t.ok(isAlive(reg.pid), 'process alive');
    const res = await httpGet(`${reg.url}/v2/`, { timeoutMs: 2000 });
    t.equal(res.status, 200, 'GET /v2/ -> 200');
  });
  // Registered on the root test so the registry is stopped even if subtests fail.
  t.teardown(() => reg?.stop());

  await t.test('push the three images with skopeo', { timeout: 60_000 }, async (t) => {
    const t0 = Date.now();
    await pushFixtures(images, reg.url);
    t.comment(`pushed in ${Date.now() - t0} ms`);
    for (const e of images.list) {
      const [repo, tag] = e.ref.split(':') as [string, string];
      const res = await httpGet(`${reg.url}/v2/${repo}/manifests/${tag}`, {
        timeoutMs: 5000,
        headers: { Accept: ACCEPT_ALL },
      });
      t.equal(res.status, 200, `${e.ref}: manifest GET 200`);
      t.equal(res.headers['docker-content-digest'], e.digest, `${e.ref}: registry digest == built digest`);
      t.equal(sha256(res.body), e.digest, `${e.ref}: manifest bytes hash to the built digest`);
    }
  });

  await t.test('pull each image back and verify digests', { timeout: 90_000 }, async (t) => {
    const pulls = join(work, 'pulls');

    const alpineDir = join(pulls, 'alpine');
    let r = await pullImage(reg.url, images.alpine.ref, alpineDir);
    t.equal(r.code, 0, 'pull alpine-test', { diagnostic: r.code !== 0, result: describeSkopeoResult(r) });
    t.comment(`alpine-test pulled in ${r.durationMs} ms`);
    let v = await verifyOciLayout(alpineDir);
    t.same(v.digests, [images.alpine.manifestDigest], 'alpine-test manifest digest');
    for (const d of [images.alpine.configDigest, ...images.alpine.layerDigests]) {
      t.ok(v.referenced.includes(d), `alpine-test has blob ${d.slice(0, 19)}`);
    }

    // Layer contents: gunzip -> sha256 == diff_id, and the tar parses with valid checksums.
    const expectFiles = [
      ['etc/alpine-release', 'etc/motd', 'etc/os-release'],
      ['usr/share/mirrorgate/hello.txt', 'usr/share/mirrorgate/lorem.txt'],
      ['var/lib/big/random.bin'],
    ];
    for (const [i, layer] of images.alpine.layers.entries()) {
      const tar = gunzipSync(await readFile(blobPath(alpineDir, layer.digest)));
      t.equal(sha256(tar), layer.diffId, `layer ${i}: sha256(uncompressed) == config diff_id`);
      const entries = parseTar(tar);
      t.same(
        entries.filter((e) => e.type === 'file').map((e) => e.path),
        expectFiles[i],
        `layer ${i}: tar lists the expected files`,
      );
      if (i === 0) {
        const rel = entries.find((e) => e.path === 'etc/alpine-release');
        t.equal(rel?.data.toString(), '3.99.0-mirrorgate\n', 'file content round-trips');
      }
      if (i === 2) t.equal(entries.find((e) => e.type === 'file')?.size, BIG_LAYER_BYTES, 'random file size');
    }
    const config = JSON.parse((await readFile(blobPath(alpineDir, images.alpine.configDigest))).toString()) as {
      architecture: string;
      os: string;
      rootfs: { diff_ids: string[] };
    };
    t.same(config.rootfs.diff_ids, images.alpine.diffIds, 'config rootfs.diff_ids');
    t.equal(config.os, 'linux');
    t.equal(config.architecture, 'amd64');

    const multiAll = join(pulls, 'multi-all');
    r = await pullImage(reg.url, images.multi.ref, multiAll, { all: true });
    t.equal(r.code, 0, 'pull multi --all', { diagnostic: r.code !== 0, result: describeSkopeoResult(r) });
    v = await verifyOciLayout(multiAll);
    t.same(v.digests, [images.multi.indexDigest], 'multi: index digest');
    t.equal(v.manifests[0]?.mediaType, MEDIA_TYPES.index, 'multi: index media type');
    for (const d of images.multi.manifestDigests) t.ok(v.referenced.includes(d), `multi: child ${d.slice(0, 19)} pulled`);

    const multiOne = join(pulls, 'multi-arm64');
    r = await pullImage(reg.url, images.multi.ref, multiOne, { overrideArch: 'arm64' });
    t.equal(r.code, 0, 'pull multi (arm64 only)', { diagnostic: r.code !== 0, result: describeSkopeoResult(r) });
    v = await verifyOciLayout(multiOne);
    t.same(v.digests, [images.multi.images[1]?.manifestDigest], 'multi without --all: the arm64 manifest');

    const onlyOneDir = join(pulls, 'only-one');
    r = await pullImage(reg.url, images.onlyOne.ref, onlyOneDir);
    t.equal(r.code, 0, 'pull only-one', { diagnostic: r.code !== 0, result: describeSkopeoResult(r) });
    v = await verifyOciLayout(onlyOneDir);
    t.same(v.digests, [images.onlyOne.manifestDigest], 'only-one manifest digest');

    r = await pullImage(reg.url, 'library/does-not-exist:1', join(pulls, 'missing'), { timeoutMs: 20_000 });
    t.not(r.code, 0, 'pulling a missing image fails (and does not throw)');
    t.match(r.stderr, /manifest unknown/, 'with the registry error in stderr');
  });

  await t.test('freeze / thaw', { timeout: 20_000 }, async (t) => {
    await reg.freeze();
    t.equal(reg.frozen, true);
    const t0 = Date.now();
    await t.rejects(httpGet(`${reg.url}/v2/`, { timeoutMs: 500 }), HttpTimeoutError, 'frozen: GET /v2/ times out');
    const waited = Date.now() - t0;
    t.ok(waited >= 450 && waited < 3000, `timed out after ~500 ms (${waited} ms)`);
    // skopeo against a frozen registry hangs; the helper's timeout must kill it.
    const r = await pullImage(reg.url, images.onlyOne.ref, join(work, 'pulls', 'frozen'), { timeoutMs: 1500 });
    t.equal(r.timedOut, true, 'skopeo timed out against the frozen registry');
    t.not(r.code, 0, 'and did not succeed');
    t.ok(r.durationMs < 5000, `killed promptly (${r.durationMs} ms)`);
    await reg.thaw();
    t.equal(reg.frozen, false);
    const res = await httpGet(`${reg.url}/v2/`, { timeoutMs: 2000 });
    t.equal(res.status, 200, 'thawed: GET /v2/ -> 200');
  });

  await t.test('startup failure is reported with the registry output', { timeout: 20_000 }, async (t) => {
    const err = await startRegistry({ port: reg.port, startTimeoutMs: 5000 }).then(
      async (unexpected) => {
        await unexpected.stop();
        return new Error('second registry on the same port started');
      },
      (e: unknown) => e,
    );
    t.type(err, RegistryStartError);
    t.match((err as Error).message, /address already in use/, 'message carries the registry stderr');
  });

  await t.test('stop a frozen registry: SIGCONT first, no leftover process', { timeout: 20_000 }, async (t) => {
    const other = await startRegistry();
    t.teardown(() => other.stop());
    await other.freeze();
    const t0 = Date.now();
    await other.stop();
    t.ok(Date.now() - t0 < 2500, `frozen registry exited on SIGTERM (${Date.now() - t0} ms)`);
    t.notOk(isAlive(other.pid), 'process gone');
    t.equal(other.running, false);
  });

  await t.test('stop', { timeout: 20_000 }, async (t) => {
    const storage = reg.storageDir;
    await reg.stop();
    t.notOk(isAlive(reg.pid), 'process gone');
    t.equal(reg.running, false);
    await t.rejects(httpGet(`${reg.url}/v2/`, { timeoutMs: 1000 }), { code: 'ECONNREFUSED' }, 'port closed');
    await reg.stop(); // idempotent
    t.pass('second stop() is a no-op');
    await t.rejects(readFile(join(storage, 'docker')), { code: 'ENOENT' }, 'owned storage dir removed');
  });
}
