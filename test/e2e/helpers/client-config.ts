/**
 * The client files the e2e clients run with come from the real command, as a user would make
 * them: `mirrorgate client-config -c <the gateway's config> --write DIR`.
 */
import { join } from 'node:path';
import type { Test } from 'tap';
import { runCli } from '../../helpers/cli-process.js';

export interface ClientFilesDir {
  /** DIR: every file under DIR/etc/… as on a client machine. */
  readonly root: string;
  readonly daemonJson: string;
  /** For `ctr --hosts-dir` (DIR/etc/containerd/certs.d). */
  readonly certsDir: string;
  readonly registriesConf: string;
}

export async function writeClientFiles(t: Test, configFile: string, dir: string, extraArgs: readonly string[] = []): Promise<ClientFilesDir> {
  const run = await runCli(t, ['client-config', '-c', configFile, '--write', dir, ...extraArgs], { timeoutMs: 20_000 });
  if (run.code !== 0) throw new Error(`client-config exited ${run.code}: ${run.stderr.join('\n')}`);
  return {
    root: dir,
    daemonJson: join(dir, 'etc/docker/daemon.json'),
    certsDir: join(dir, 'etc/containerd/certs.d'),
    registriesConf: join(dir, 'etc/containers/registries.conf.d/mirrorgate.conf'),
  };
}
