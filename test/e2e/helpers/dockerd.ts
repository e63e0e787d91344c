/**
 * A real dockerd (Debian docker.io 20.10) for one test file, as root: vfs storage, no
 * networking (`--iptables=false --bridge=none`), every dir and its API socket under `dir`, its
 * settings from `--config-file` (the daemon.json `mirrorgate client-config` wrote). It starts
 * its own containerd, whose pid is tracked too.
 */
import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand, type CommandResult } from './command.js';
import { startDaemon, type Daemon } from './daemon.js';
import { findExecutable } from './tools.js';

export const DOCKERD_BINARIES = ['dockerd', 'docker', 'containerd', 'runc'] as const;

export interface Dockerd {
  readonly daemon: Daemon;
  /** `docker -H unix://… ARGS`, bounded. */
  docker(args: readonly string[], timeoutMs?: number): Promise<CommandResult>;
}

export async function startDockerd(dir: string, configFile: string): Promise<Dockerd> {
  const [data, exec] = [join(dir, 'data'), join(dir, 'exec')];
  await Promise.all([mkdir(data, { recursive: true }), mkdir(exec, { recursive: true })]);
  const socket = join(dir, 'docker.sock');
  const host = `unix://${socket}`;
  // The docker.io package's CLI (/usr/bin/docker) when there is one: it is the daemon's own
  // version. Whatever `docker` is first on PATH otherwise (the API version is negotiated).
  const cli =
    (await access('/usr/bin/docker')
      .then(() => '/usr/bin/docker')
      .catch(() => undefined)) ??
    findExecutable('docker') ??
    'docker';
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, DOCKER_CONFIG: join(dir, 'cli'), NO_PROXY: '*', LANG: 'C' };
  const docker = (args: readonly string[], timeoutMs = 120_000): Promise<CommandResult> => runCommand(cli, ['-H', host, ...args], { env, timeoutMs });
  const daemon = await startDaemon({
    bin: 'dockerd',
    args: [
      '--config-file',
      configFile,
      '--storage-driver',
      'vfs',
      '--iptables=false',
      '--ip6tables=false',
      '--bridge=none',
      '--data-root',
      data,
      '--exec-root',
      exec,
      '--pidfile',
      join(dir, 'dockerd.pid'),
      '-H',
      host,
    ],
    env,
    ready: async () => (await docker(['version', '--format', '{{.Server.Version}}'], 5000)).code === 0,
    startTimeoutMs: 60_000,
    childPidFiles: [join(exec, 'containerd', 'containerd.pid')],
  });
  return { daemon, docker };
}
