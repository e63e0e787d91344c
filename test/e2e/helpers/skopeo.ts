/**
 * Run `skopeo copy` (skopeo 1.9.3) in an isolated, bounded way.
 *
 * Isolation per call (fresh temp dir, removed afterwards):
 * - `--policy` -> temp policy.json: insecureAcceptAnything
 * - `--registries.d` -> empty temp dir (no sigstore/lookaside config from /etc)
 * - `--tmpdir` -> temp dir (big-blob scratch space)
 * - `--registries-conf` -> empty temp registries.conf. NB: skopeo 1.9.3 hides this
 *   global flag from `--help` but honours it, while it IGNORES the
 *   CONTAINERS_REGISTRIES_CONF env var (verified with --debug). Drop-ins from
 *   /etc/containers/registries.conf.d/ (Debian ships only shortnames.conf) are
 *   still read; there is no flag for that dir, and short-name aliases cannot
 *   affect the fully qualified 127.0.0.1:PORT references used here.
 * - `--src-cert-dir`/`--dest-cert-dir` -> empty temp dir for docker:// refs (no
 *   /etc/docker/certs.d lookups)
 * - auth: REGISTRY_AUTH_FILE -> temp `{"auths":{}}`; HOME, XDG_RUNTIME_DIR,
 *   XDG_CONFIG_HOME -> temp dirs, so no ~/.docker/config.json or auth.json leaks in
 * - a minimal env (no http(s)_proxy; NO_PROXY covers loopback)
 *
 * Bounded: SIGTERM on timeout, SIGKILL 2 s later.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { removeTrackedDir, trackDir, trackPid, untrackPid } from './cleanup.js';
import { blobPath, MEDIA_TYPES, REF_NAME_ANNOTATION, sha256File, type Descriptor } from './oci-image.js';

export interface SkopeoCopyOptions {
  /** `--all`: copy every image of an index / manifest list. */
  all?: boolean;
  /** Default 120000 ms. On expiry skopeo is killed and the result has timedOut=true. */
  timeoutMs?: number;
  /** Default: false (i.e. `--src-tls-verify=false`) for docker:// refs on 127.0.0.1/localhost. */
  srcTlsVerify?: boolean;
  /** Default: false for docker:// refs on 127.0.0.1/localhost. */
  destTlsVerify?: boolean;
  /** `--preserve-digests`: fail instead of altering manifests/layers. Default false. */
  preserveDigests?: boolean;
  /** Extra `skopeo copy` arguments, placed before SOURCE DEST. */
  extraArgs?: string[];
  /** Global `--override-arch` (which image of an index to pick without --all). */
  overrideArch?: string;
  /** `--src-cert-dir`: a folder whose `*.crt` are the CAs a docker:// source's certificate must chain to (instead of an empty one). */
  srcCertDir?: string;
}

export interface SkopeoResult {
  /** Exit code; null when killed by a signal (e.g. on timeout). */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** The full argv, for failure messages. */
  args: string[];
}

const SKOPEO_BIN = 'skopeo';
const KILL_GRACE_MS = 2000;
const OUTPUT_LIMIT = 256 * 1024;

const LOOPBACK_DOCKER_REF = /^docker:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\//;

function tlsFlag(name: 'src' | 'dest', ref: string, explicit: boolean | undefined): string[] {
  if (explicit !== undefined) return [`--${name}-tls-verify=${explicit}`];
  return LOOPBACK_DOCKER_REF.test(ref) ? [`--${name}-tls-verify=false`] : [];
}

function appendLimited(prev: string, chunk: Buffer): string {
  const next = prev + chunk.toString('utf8');
  return next.length > OUTPUT_LIMIT ? next.slice(-OUTPUT_LIMIT) : next;
}

async function makeSandbox(): Promise<{ root: string; env: NodeJS.ProcessEnv; globalArgs: string[]; certs: string }> {
  const root = await mkdtemp(join(tmpdir(), 'mirrorgate-e2e-skopeo-'));
  trackDir(root);
  const home = join(root, 'home');
  const runtime = join(root, 'run');
  const config = join(root, 'config');
  const registriesD = join(root, 'registries.d');
  const tmp = join(root, 'tmp');
  const certs = join(root, 'certs.d');
  await Promise.all([home, runtime, config, registriesD, tmp, certs].map((d) => mkdir(d, { recursive: true, mode: 0o700 })));
  const policy = join(root, 'policy.json');
  const registriesConf = join(root, 'registries.conf');
  const authFile = join(root, 'auth.json');
  await Promise.all([
    writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] })),
    writeFile(registriesConf, '# empty: no search registries, no mirrors, no aliases\n'),
    writeFile(authFile, JSON.stringify({ auths: {} })),
  ]);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    TMPDIR: tmp,
    XDG_RUNTIME_DIR: runtime,
    XDG_CONFIG_HOME: config,
    CONTAINERS_REGISTRIES_CONF: registriesConf, // ignored by 1.9.3 (see above); newer versions honour it
    REGISTRY_AUTH_FILE: authFile,
    DOCKER_CONFIG: join(home, '.docker'),
    NO_PROXY: '127.0.0.1,localhost,::1',
    no_proxy: '127.0.0.1,localhost,::1',
    LANG: 'C',
  };
  const globalArgs = ['--policy', policy, '--registries-conf', registriesConf, '--registries.d', registriesD, '--tmpdir', tmp];
  return { root, env, globalArgs, certs };
}

/**
 * `skopeo copy SRC DEST` with isolation and a hard timeout. Never throws for a
 * non-zero exit: inspect `code` (and `timedOut`). Throws only if skopeo cannot
 * be spawned at all.
 */
export async function skopeoCopy(src: string, dest: string, opts: SkopeoCopyOptions = {}): Promise<SkopeoResult> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const sandbox = await makeSandbox();
  const args = [
    ...sandbox.globalArgs,
    ...(opts.overrideArch ? ['--override-arch', opts.overrideArch] : []),
    'copy',
    '--retry-times',
    '0',
    ...tlsFlag('src', src, opts.srcTlsVerify),
    ...tlsFlag('dest', dest, opts.destTlsVerify),
    ...(src.startsWith('docker://') ? ['--src-cert-dir', opts.srcCertDir ?? sandbox.certs] : []),
    ...(dest.startsWith('docker://') ? ['--dest-cert-dir', sandbox.certs] : []),
    ...(opts.all ? ['--all'] : []),
    ...(opts.preserveDigests ? ['--preserve-digests'] : []),
    ...(opts.extraArgs ?? []),
    src,
    dest,
  ];
  const started = Date.now();
  try {
    return await new Promise<SkopeoResult>((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      let killTimer: NodeJS.Timeout | undefined;
      const child = spawn(SKOPEO_BIN, args, { env: sandbox.env, cwd: sandbox.root, stdio: ['ignore', 'pipe', 'pipe'] });
      if (child.pid !== undefined) trackPid(child.pid);
      child.stdout.on('data', (c: Buffer) => (stdout = appendLimited(stdout, c)));
      child.stderr.on('data', (c: Buffer) => (stderr = appendLimited(stderr, c)));
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGTERM');
        killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
      }, timeoutMs);
      child.once('error', (err) => {
        clearTimeout(timer);
        if (killTimer) clearTimeout(killTimer);
        if (child.pid !== undefined) untrackPid(child.pid);
        reject(new Error(`failed to run ${SKOPEO_BIN}: ${err.message}`));
      });
      // 'close' (not 'exit') so that all output has been read.
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        if (killTimer) clearTimeout(killTimer);
        if (child.pid !== undefined) untrackPid(child.pid);
        if (timedOut) stderr += `\n[e2e] skopeo killed after ${timeoutMs} ms timeout`;
        resolve({ code, signal, timedOut, stdout, stderr, durationMs: Date.now() - started, args: [SKOPEO_BIN, ...args] });
      });
    });
  } finally {
    await removeTrackedDir(sandbox.root);
  }
}

/** One-line summary of a failed copy, for assertion messages. */
export function describeSkopeoResult(r: SkopeoResult): string {
  return `${r.args.join(' ')}\n-> code=${r.code} signal=${r.signal} timedOut=${r.timedOut} in ${r.durationMs} ms\nstderr:\n${r.stderr.trim()}`;
}

function splitRepoRef(repoRef: string): { repo: string; tag: string } {
  const m = /^([a-z0-9._/-]+):([A-Za-z0-9_][A-Za-z0-9._-]{0,127})$/.exec(repoRef);
  if (!m) throw new Error(`expected "repo/name:tag", got ${JSON.stringify(repoRef)}`);
  return { repo: m[1] as string, tag: m[2] as string };
}

function hostOf(registryUrl: string): string {
  return new URL(registryUrl).host;
}

function assertNoColon(dir: string): void {
  // oci:PATH[:REF] — a ':' in PATH would be parsed as the reference separator.
  if (dir.includes(':')) throw new Error(`OCI layout path must not contain ':' (${dir})`);
}

export interface PushImageOptions {
  all?: boolean;
  timeoutMs?: number;
  /** Tag inside the OCI layout. Default: the target tag if index.json has it, else the layout's only entry. */
  srcTag?: string;
}

/**
 * Push an OCI layout image to `registryUrl` as `repoRef` ("library/NAME:TAG").
 * Setup helper: THROWS with skopeo's stderr if the copy fails. Uses
 * --preserve-digests so the pushed digests are exactly the built ones.
 */
export async function pushImage(ociDir: string, registryUrl: string, repoRef: string, opts: PushImageOptions = {}): Promise<SkopeoResult> {
  assertNoColon(ociDir);
  const { tag } = splitRepoRef(repoRef);
  let srcTag = opts.srcTag;
  if (srcTag === undefined) {
    const idx = JSON.parse(await readFile(join(ociDir, 'index.json'), 'utf8')) as { manifests?: Descriptor[] };
    const tags = (idx.manifests ?? []).map((m) => m.annotations?.[REF_NAME_ANNOTATION]);
    if (tags.includes(tag)) srcTag = tag;
  }
  const src = srcTag === undefined ? `oci:${ociDir}` : `oci:${ociDir}:${srcTag}`;
  const dest = `docker://${hostOf(registryUrl)}/${repoRef}`;
  const res = await skopeoCopy(src, dest, { all: opts.all, timeoutMs: opts.timeoutMs, preserveDigests: true });
  if (res.code !== 0) throw new Error(`pushImage failed: ${describeSkopeoResult(res)}`);
  return res;
}

export interface PullImageOptions {
  all?: boolean;
  timeoutMs?: number;
  overrideArch?: string;
  /** Pull over TLS, verifying the gateway's certificate against the CAs in this folder (`--src-cert-dir`). */
  certDir?: string;
}

/**
 * Pull `repoRef` from a registry (or gateway) URL into the OCI layout `destDir`.
 * The thing under test in e2e suites: does NOT throw on failure, check `code`.
 */
export async function pullImage(registryUrl: string, repoRef: string, destDir: string, opts: PullImageOptions = {}): Promise<SkopeoResult> {
  assertNoColon(destDir);
  splitRepoRef(repoRef);
  // skopeo's oci: transport creates DIR but not its parents.
  await mkdir(dirname(destDir), { recursive: true });
  return skopeoCopy(`docker://${hostOf(registryUrl)}/${repoRef}`, `oci:${destDir}`, {
    all: opts.all,
    timeoutMs: opts.timeoutMs,
    overrideArch: opts.overrideArch,
    ...(opts.certDir !== undefined && { srcTlsVerify: true, srcCertDir: opts.certDir }),
  });
}

export interface VerifiedLayout {
  /** Descriptors of index.json, in order. */
  manifests: Descriptor[];
  /** Their digests (the image manifest or index digests skopeo wrote). */
  digests: string[];
  /** Every blob file found, all hash-verified. */
  blobs: string[];
  /** Blobs reachable from index.json (indexes -> manifests -> config + layers). */
  referenced: string[];
}

/**
 * Re-read an OCI layout (e.g. written by `skopeo copy ... oci:DIR`): every blob's
 * sha256 must match its file name, and every blob referenced from index.json
 * (recursively through indexes and manifests) must exist with the declared size.
 * Throws a descriptive Error on any mismatch.
 */
export async function verifyOciLayout(dir: string): Promise<VerifiedLayout> {
  const layout = JSON.parse(await readFile(join(dir, 'oci-layout'), 'utf8')) as { imageLayoutVersion?: string };
  if (layout.imageLayoutVersion !== '1.0.0') {
    throw new Error(`${dir}/oci-layout: unexpected imageLayoutVersion ${String(layout.imageLayoutVersion)}`);
  }
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests?: Descriptor[] };
  const manifests = index.manifests ?? [];

  const blobDir = join(dir, 'blobs', 'sha256');
  const names = (await readdir(blobDir)).filter((n) => !n.startsWith('.'));
  const blobs: string[] = [];
  for (const name of names) {
    const actual = await sha256File(join(blobDir, name));
    if (actual !== `sha256:${name}`) throw new Error(`${dir}: blob ${name} has sha256 ${actual}`);
    blobs.push(actual);
  }

  const referenced = new Set<string>();
  const visit = async (d: Descriptor, from: string): Promise<void> => {
    let st;
    try {
      st = await stat(blobPath(dir, d.digest));
    } catch {
      throw new Error(`${dir}: ${from} references missing blob ${d.digest}`);
    }
    if (st.size !== d.size) throw new Error(`${dir}: blob ${d.digest} is ${st.size} bytes, ${from} says ${d.size}`);
    if (referenced.has(d.digest)) return;
    referenced.add(d.digest);
    if (d.mediaType === MEDIA_TYPES.index || d.mediaType === 'application/vnd.docker.distribution.manifest.list.v2+json') {
      const body = JSON.parse(await readFile(blobPath(dir, d.digest), 'utf8')) as { manifests?: Descriptor[] };
      for (const m of body.manifests ?? []) await visit(m, d.digest);
    } else if (d.mediaType === MEDIA_TYPES.manifest || d.mediaType === 'application/vnd.docker.distribution.manifest.v2+json') {
      const body = JSON.parse(await readFile(blobPath(dir, d.digest), 'utf8')) as { config?: Descriptor; layers?: Descriptor[] };
      if (body.config) await visit(body.config, d.digest);
      for (const l of body.layers ?? []) await visit(l, d.digest);
    }
  };
  for (const m of manifests) await visit(m, 'index.json');

  return { manifests, digests: manifests.map((m) => m.digest), blobs, referenced: [...referenced] };
}
