/**
 * One bounded run of a client command (docker, ctr, podman): output captured, the pid tracked
 * by ./cleanup.ts, SIGTERM on timeout and SIGKILL 2 s later. Never throws for a non-zero exit.
 */
import { spawn } from 'node:child_process';
import { trackPid, untrackPid } from './cleanup.js';

export interface CommandResult {
  /** Exit code; null when killed by a signal (e.g. on timeout). */
  readonly code: number | null;
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
  /** The full argv, for failure messages. */
  readonly args: readonly string[];
}

const KILL_GRACE_MS = 2000;
const OUTPUT_LIMIT = 256 * 1024;

export function runCommand(bin: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs: number; cwd?: string }): Promise<CommandResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const child = spawn(bin, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid !== undefined) trackPid(child.pid);
    const limited = (prev: string, chunk: Buffer): string => (prev + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
    child.stdout.on('data', (c: Buffer) => (stdout = limited(stdout, c)));
    child.stderr.on('data', (c: Buffer) => (stderr = limited(stderr, c)));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    }, opts.timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      if (child.pid !== undefined) untrackPid(child.pid);
    };
    child.once('error', (err) => {
      done();
      reject(new Error(`failed to run ${bin}: ${err.message}`));
    });
    child.once('close', (code) => {
      done();
      if (timedOut) stderr += `\n[e2e] ${bin} killed after ${opts.timeoutMs} ms timeout`;
      resolve({ code, timedOut, stdout, stderr, durationMs: Date.now() - started, args: [bin, ...args] });
    });
  });
}

/** One-line summary of a run, for assertion messages. */
export function describeCommand(r: CommandResult): string {
  return `${r.args.join(' ')}\n-> code=${r.code} timedOut=${r.timedOut} in ${r.durationMs} ms\nstdout:\n${r.stdout.trim()}\nstderr:\n${r.stderr.trim()}`;
}
