/**
 * Runs the BUILT command line (`node dist/cli.js ...`) as a child process for lifecycle tests:
 * collects stdout/stderr lines, waits (always with a deadline) for a JSON log line or for the
 * exit, and makes sure no child outlives its test. Build first: `npm run build`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request, type IncomingHttpHeaders } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(REPO_ROOT, 'dist', 'cli.js');

/** Anything with a teardown hook: a tap `t`. */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

export type LogLine = Record<string, unknown>;

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

// Last resort: a child still running when the test process exits (tap bailing out, an uncaught
// error) is killed synchronously. Normal cleanup is the teardown registered by startCli().
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of live) {
        try {
          c.kill('SIGKILL');
        } catch {
          // already gone
        }
      }
    });
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
}

function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} does not exist: run \`npm run build\` before the lifecycle tests`);
}

export class CliProcess {
  readonly child: ChildProcess;
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  /** stdout lines that parsed as JSON objects (pino log lines), in order. */
  readonly logs: LogLine[] = [];
  readonly #exited: Promise<Exit>;
  #exit: Exit | undefined;
  #listeners = new Set<() => void>();

  constructor(args: readonly string[], options: { env?: Record<string, string | undefined>; cwd?: string } = {}) {
    assertBuilt();
    this.child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, MIRRORGATE_CONFIG: undefined, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    track(this.child);
    this.#collect(this.child.stdout!, this.stdout, true);
    this.#collect(this.child.stderr!, this.stderr, false);
    // 'close' (not 'exit') so that every line of output has been read when the exit is reported.
    this.#exited = new Promise<Exit>((resolve) => {
      this.child.once('close', (code, signal) => {
        this.#exit = { code, signal };
        this.#notify();
        resolve(this.#exit);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get exited(): Exit | undefined {
    return this.#exit;
  }

  /** The whole output so far, for secret scans. */
  get output(): string {
    return [...this.stdout, ...this.stderr].join('\n');
  }

  /** A position in `logs`, to wait for lines written after it. */
  mark(): number {
    return this.logs.length;
  }

  #collect(stream: NodeJS.ReadableStream, lines: string[], json: boolean): void {
    let partial = '';
    stream.setEncoding('utf8');
    const take = (line: string): void => {
      lines.push(line);
      if (json && line.startsWith('{')) {
        try {
          const parsed: unknown = JSON.parse(line);
          if (parsed !== null && typeof parsed === 'object') this.logs.push(parsed as LogLine);
        } catch {
          // not a log line
        }
      }
    };
    stream.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const part of parts) take(part);
      this.#notify();
    });
    stream.on('end', () => {
      if (partial !== '') take(partial);
      partial = '';
      this.#notify();
    });
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  #describe(): string {
    const tail = (lines: string[]): string => lines.slice(-15).join('\n    ');
    return `pid ${this.pid}${this.#exit ? ` exited (code ${this.#exit.code}, signal ${this.#exit.signal})` : ''}\n  stdout:\n    ${tail(this.stdout)}\n  stderr:\n    ${tail(this.stderr)}`;
  }

  /** Resolves with the first log line at index >= `since` that matches; rejects after `timeoutMs` or if the process exits first. */
  waitForLog(match: (line: LogLine) => boolean, options: { timeoutMs?: number; since?: number; what?: string } = {}): Promise<LogLine> {
    const { timeoutMs = 5000, since = 0, what = 'a matching log line' } = options;
    return new Promise<LogLine>((resolve, reject) => {
      let checked = since;
      const check = (): void => {
        for (; checked < this.logs.length; checked++) {
          const line = this.logs[checked]!;
          if (match(line)) return done(() => resolve(line));
        }
        if (this.#exit !== undefined) done(() => reject(new Error(`process exited while waiting for ${what}\n${this.#describe()}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${this.#describe()}`))), timeoutMs);
      const done = (settle: () => void): void => {
        clearTimeout(timer);
        this.#listeners.delete(check);
        settle();
      };
      this.#listeners.add(check);
      check();
    });
  }

  /** The `listening` log line's port, once the gateway accepts connections. */
  async listening(timeoutMs = 10_000): Promise<number> {
    const line = await this.waitForLog((l) => l['event'] === 'listening', { timeoutMs, what: 'the "listening" log line' });
    return Number(line['port']);
  }

  /** Resolves with the exit; rejects (leaving the process to teardown) if it has not exited within `timeoutMs`. */
  waitForExit(timeoutMs = 5000): Promise<Exit> {
    if (this.#exit !== undefined) return Promise.resolve(this.#exit);
    return new Promise<Exit>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`process did not exit within ${timeoutMs} ms\n${this.#describe()}`)), timeoutMs);
      void this.#exited.then((exit) => {
        clearTimeout(timer);
        resolve(exit);
      });
    });
  }

  signal(signal: NodeJS.Signals): void {
    if (this.#exit === undefined) this.child.kill(signal);
  }

  /** Teardown: SIGKILL if still running, and wait (bounded) for it to be gone. */
  async kill(): Promise<void> {
    if (this.#exit !== undefined) return;
    this.child.kill('SIGKILL');
    await Promise.race([this.#exited, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
  }
}

/** Starts `node dist/cli.js ...args`, killed in `t`'s teardown. */
export function startCli(t: Teardown, args: readonly string[], options?: { env?: Record<string, string | undefined>; cwd?: string }): CliProcess {
  const proc = new CliProcess(args, options);
  t.teardown(() => proc.kill());
  return proc;
}

/** Runs a command that is expected to end on its own within `timeoutMs`. */
export async function runCli(
  t: Teardown,
  args: readonly string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number } = {},
): Promise<Exit & { stdout: string[]; stderr: string[]; proc: CliProcess }> {
  const proc = startCli(t, args, options);
  const exit = await proc.waitForExit(options.timeoutMs ?? 10_000);
  return { ...exit, stdout: nonEmpty(proc.stdout), stderr: nonEmpty(proc.stderr), proc };
}

const nonEmpty = (lines: string[]): string[] => lines.filter((line) => line !== '');

/** A port that was free a moment ago on 127.0.0.1: listen on 0, read it, close. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A temp dir removed in teardown. */
export async function tempDir(t: Teardown, prefix = 'mirrorgate-lifecycle-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface Response {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** One GET on a fresh connection (no keep-alive pool left behind), bounded by `timeoutMs`. */
export function httpGet(url: string, headers: Record<string, string> = {}, timeoutMs = 5000): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const req = request(url, { agent: false, headers: { connection: 'close', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * The value of one series in Prometheus text, e.g.
 * metricValue(text, 'mirrorgate_config_reload_total', { result: 'error' }); undefined when absent.
 */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = new Map<string, string>();
    for (const pair of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have.set(pair[1]!, pair[2]!);
    if (Object.entries(labels).every(([key, value]) => have.get(key) === value)) return Number(m[3]);
  }
  return undefined;
}

/** Polls `probe` every `intervalMs` until it returns true; rejects after `timeoutMs`. */
export async function eventually(probe: () => Promise<boolean> | boolean, what: string, timeoutMs = 5000, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
