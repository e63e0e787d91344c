/**
 * A real containerd (Debian containerd 1.6) for one test file, as root: root, state and socket
 * under `dir`, the CRI plugin off (ctr does not need it and it is most of the start time), and
 * `ctr` against it. Images are unpacked into the `native` snapshotter, which works on any
 * filesystem (overlayfs cannot always be mounted inside a container).
 */
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand, type CommandResult } from './command.js';
import { startDaemon, type Daemon } from './daemon.js';

export const CONTAINERD_BINARIES = ['containerd', 'ctr'] as const;

export interface Containerd {
  readonly daemon: Daemon;
  /** `ctr --address … ARGS`, bounded. */
  ctr(args: readonly string[], timeoutMs?: number): Promise<CommandResult>;
}

export async function startContainerd(dir: string): Promise<Containerd> {
  await mkdir(dir, { recursive: true });
  const socket = join(dir, 'containerd.sock');
  const config = join(dir, 'config.toml');
  await writeFile(
    config,
    [
      'version = 2',
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = ${JSON.stringify(socket)}`,
      '[ttrpc]',
      `  address = ${JSON.stringify(`${socket}.ttrpc`)}`,
      '',
    ].join('\n'),
  );
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, NO_PROXY: '*', LANG: 'C' };
  const ctr = (args: readonly string[], timeoutMs = 120_000): Promise<CommandResult> =>
    runCommand('ctr', ['--address', socket, '--namespace', 'mirrorgate-e2e', ...args], { env, timeoutMs });
  const daemon = await startDaemon({
    bin: 'containerd',
    args: ['--config', config, '--root', join(dir, 'root'), '--state', join(dir, 'state'), '--address', socket, '--log-level', 'info'],
    env,
    ready: async () =>
      (await access(socket).then(
        () => true,
        () => false,
      )) && (await ctr(['version'], 5000)).code === 0,
    startTimeoutMs: 60_000,
  });
  return { daemon, ctr };
}
