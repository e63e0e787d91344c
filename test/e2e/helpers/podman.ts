/**
 * podman 4.3 with nothing of the machine's own: vfs storage, `--root`/`--runroot`/`--tmpdir`
 * under `dir`, registries.conf from `registriesConf` (the file `mirrorgate client-config`
 * wrote), an accept-anything signature policy, an empty auth file. No daemon: each call is a
 * bounded process.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand, type CommandResult } from './command.js';

export const PODMAN_BINARIES = ['podman'] as const;

export type Podman = (args: readonly string[], timeoutMs?: number) => Promise<CommandResult>;

export async function podmanIn(dir: string, registriesConf: string): Promise<Podman> {
  const tmp = join(dir, 'tmp');
  await mkdir(tmp, { recursive: true });
  const [policy, auth, conf] = [join(dir, 'policy.json'), join(dir, 'auth.json'), join(dir, 'containers.conf')];
  await Promise.all([
    writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] })),
    writeFile(auth, JSON.stringify({ auths: {} })),
    // No journald or systemd here: events to nowhere, cgroups by hand.
    writeFile(conf, '[engine]\nevents_logger = "none"\ncgroup_manager = "cgroupfs"\n'),
  ]);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    TMPDIR: tmp,
    CONTAINERS_REGISTRIES_CONF: registriesConf,
    CONTAINERS_CONF: conf,
    REGISTRY_AUTH_FILE: auth,
    NO_PROXY: '*',
    LANG: 'C',
  };
  const globals = ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs', '--tmpdir', tmp];
  return (args, timeoutMs = 120_000) => {
    // `pull` takes the signature policy; other commands do not know the flag.
    const withPolicy = args[0] === 'pull' ? ['pull', '--signature-policy', policy, ...args.slice(1)] : args;
    return runCommand('podman', [...globals, ...withPolicy], { env, timeoutMs });
  };
}
