/**
 * A client daemon (dockerd, containerd) run for one test file: its own dirs under a temp dir,
 * output kept, ready when a probe says so (bounded), stopped by pid. The pid — and any pid the
 * daemon starts that would outlive it, such as dockerd's own containerd — is tracked by
 * ./cleanup.ts, so a tap timeout or a crash leaves no daemon behind.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { trackPid, untrackPid } from './cleanup.js';

export interface Daemon {
  readonly pid: number;
  /** Last ~64 KiB of stdout+stderr. */
  logs(): string;
  /** SIGTERM, SIGKILL after the grace; then the same for the pids in `childPidFiles`. Idempotent. */
  stop(): Promise<void>;
}

export interface DaemonSpec {
  readonly bin: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** Resolves true once the daemon serves. */
  readonly ready: () => Promise<boolean>;
  readonly startTimeoutMs: number;
  /** Files the daemon writes its children's pids to (read once it is ready). */
  readonly childPidFiles?: readonly string[];
}

const LOG_LIMIT = 64 * 1024;
const STOP_GRACE_MS = 10_000;

export async function startDaemon(spec: DaemonSpec): Promise<Daemon> {
  let log = '';
  const child = spawn(spec.bin, spec.args, { env: spec.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const append = (chunk: Buffer): void => void (log = (log + chunk.toString('utf8')).slice(-LOG_LIMIT));
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const pid = child.pid;
  if (pid === undefined) {
    const err = await new Promise<Error>((resolve) => child.once('error', resolve));
    throw new Error(`cannot start ${spec.bin}: ${err.message}`);
  }
  trackPid(pid);
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      untrackPid(pid);
      resolve();
    }),
  );
  const children: number[] = [];
  const kill = async (p: number, gone: () => Promise<void>): Promise<void> => {
    signal(p, 'SIGTERM');
    if (!(await Promise.race([gone().then(() => true), sleep(STOP_GRACE_MS).then(() => false)]))) signal(p, 'SIGKILL');
  };
  let stopping: Promise<void> | undefined;
  const daemon: Daemon = {
    pid,
    logs: () => log,
    stop: () =>
      (stopping ??= (async () => {
        if (!exited) await kill(pid, () => exit);
        await Promise.race([exit, sleep(5000)]);
        for (const p of children) {
          if (alive(p)) await kill(p, () => until(() => !alive(p)));
          untrackPid(p);
        }
        child.stdout.destroy();
        child.stderr.destroy();
      })()),
  };

  const deadline = Date.now() + spec.startTimeoutMs;
  for (;;) {
    if (exited) {
      await daemon.stop();
      throw new Error(`${spec.bin} exited during startup; output:\n${log.trim()}`);
    }
    if (await spec.ready().catch(() => false)) break;
    if (Date.now() >= deadline) {
      await daemon.stop();
      throw new Error(`${spec.bin} not ready after ${spec.startTimeoutMs} ms; output:\n${log.trim()}`);
    }
    await sleep(200);
  }
  for (const file of spec.childPidFiles ?? []) {
    const p = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(p) && p > 0) {
      children.push(p);
      trackPid(p);
    }
  }
  return daemon;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(done: () => boolean): Promise<void> {
  while (!done()) await sleep(50);
}
