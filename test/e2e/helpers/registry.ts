/**
 * Run a real CNCF distribution registry (`docker-registry serve`, Debian package
 * docker-registry 2.8) on 127.0.0.1 for end-to-end tests.
 *
 * Every instance gets its own temp dir with a generated config.yml and (unless the
 * caller passes one) its own storage dir. Callers MUST register `stop()` in
 * `t.teardown` (on the root `t`, or on the subtest that uses it). As a safety
 * net every registry pid and temp dir is tracked by ./cleanup.ts, which
 * SIGCONT+SIGKILLs / removes them when the test process exits, and — via a
 * detached janitor — within ~1 s even if the test process is SIGKILLed or
 * timed out by tap, so a frozen (SIGSTOPped) registry is never left behind.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { removeTrackedDir, trackDir, trackPid, untrackPid } from './cleanup.js';
import { httpGet } from './http.js';

export interface StartRegistryOptions {
  /** Use this storage dir (kept on stop). Default: a fresh temp dir removed on stop. */
  storageDir?: string;
  /** Fixed port (e.g. to restart a registry at the same URL). Default: a free port. */
  port?: number;
  /** Bound for `GET /v2/` to answer 200 after spawn. Default 10000 ms. */
  startTimeoutMs?: number;
  /**
   * Extra top-level YAML appended to the generated config.yml, e.g. an `auth:` section
   * (`auth:\n  token:\n    realm: ...`). Default: none.
   */
  extraConfig?: string;
  /**
   * `GET /v2/` statuses that count as ready. Default [200]; a registry with `auth:` answers
   * 401, so pass [401] (the instance header still proves it is this process).
   */
  readyStatuses?: number[];
}

export interface RunningRegistry {
  /** "http://127.0.0.1:PORT" */
  readonly url: string;
  /** "127.0.0.1:PORT" (for docker:// references) */
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  readonly storageDir: string;
  readonly configPath: string;
  /** True between freeze() and thaw(). */
  readonly frozen: boolean;
  /** True until the process has exited. */
  readonly running: boolean;
  /** Last ~64 KiB of the registry's stdout+stderr. */
  logs(): string;
  /** SIGSTOP; resolves once the kernel reports the process stopped. */
  freeze(): Promise<void>;
  /** SIGCONT; resolves once the process is running again. */
  thaw(): Promise<void>;
  /** SIGCONT+SIGTERM, SIGKILL after 3 s; removes temp dirs. Idempotent. */
  stop(): Promise<void>;
}

const REGISTRY_BIN = 'docker-registry';
const STOP_GRACE_MS = 3000;
const LOG_LIMIT = 64 * 1024;

/** Free TCP port on 127.0.0.1 (listen on 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('could not determine a free port'));
        return;
      }
      const { port } = addr;
      srv.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/** Response header carrying a per-instance id (see readiness check). */
export const INSTANCE_HEADER = 'X-Mirrorgate-E2e-Instance';

export function registryConfigYaml(port: number, storageDir: string, instanceId: string, extraConfig?: string): string {
  // JSON strings are valid YAML scalars, which takes care of quoting paths.
  const extra = extraConfig === undefined || extraConfig.trim() === '' ? [] : [extraConfig.replace(/\n+$/, '')];
  return [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(storageDir)}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '  headers:',
    '    X-Content-Type-Options: [nosniff]',
    `    ${INSTANCE_HEADER}: [${JSON.stringify(instanceId)}]`,
    'health:',
    '  storagedriver:',
    '    enabled: false',
    ...extra,
    '',
  ].join('\n');
}

/** Linux process state letter from /proc/PID/stat ('R', 'S', 'T', 'Z', ...), or undefined. */
async function procState(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ..." — comm may contain spaces/parens, so split after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) || undefined;
  } catch {
    return undefined;
  }
}

async function waitForState(pid: number, want: (s: string) => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await procState(pid);
    if (s === undefined) return true; // no /proc (or process gone): nothing more to wait for
    if (want(s)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(10);
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface SpawnSettings {
  startTimeoutMs: number;
  extraConfig?: string;
  readyStatuses: number[];
}

async function spawnOnce(port: number, storageDir: string, ownedStorage: boolean, settings: SpawnSettings): Promise<RunningRegistry> {
  const { startTimeoutMs, readyStatuses } = settings;
  const baseDir = await mkdtemp(join(tmpdir(), 'mirrorgate-e2e-registry-'));
  trackDir(baseDir);
  const configPath = join(baseDir, 'config.yml');
  const instanceId = randomUUID();
  await writeFile(configPath, registryConfigYaml(port, storageDir, instanceId, settings.extraConfig));

  let logBuf = '';
  const appendLog = (chunk: Buffer): void => {
    logBuf += chunk.toString('utf8');
    if (logBuf.length > LOG_LIMIT) logBuf = logBuf.slice(-LOG_LIMIT);
  };

  const child = spawn(REGISTRY_BIN, ['serve', configPath], {
    cwd: baseDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: baseDir },
  });
  child.stdout?.on('data', appendLog);
  child.stderr?.on('data', appendLog);

  let exitInfo: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, sig) => {
      exitInfo = { code, signal: sig };
      if (child.pid !== undefined) untrackPid(child.pid);
      resolve(exitInfo);
    });
  });
  // 'close' fires after 'exit' once stdout/stderr are drained (complete logs).
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  const pid = child.pid;
  if (pid === undefined) {
    const err = await Promise.race([spawnError, sleep(1000).then(() => new Error('no pid'))]);
    await removeTrackedDir(baseDir);
    throw new Error(`failed to spawn ${REGISTRY_BIN}: ${err.message}`);
  }
  trackPid(pid);

  let frozen = false;
  let stopping: Promise<void> | undefined;

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (exitInfo === undefined) {
        // A stopped process cannot act on SIGTERM: always continue it first.
        signal(pid, 'SIGCONT');
        frozen = false;
        signal(pid, 'SIGTERM');
        const graceful = await Promise.race([exited.then(() => true), sleep(STOP_GRACE_MS).then(() => false)]);
        if (!graceful) {
          signal(pid, 'SIGCONT');
          signal(pid, 'SIGKILL');
          await Promise.race([exited, sleep(5000)]);
        }
      }
      untrackPid(pid);
      // Let the stdio pipes drain/close so they don't keep the event loop alive.
      child.stdout?.destroy();
      child.stderr?.destroy();
      await removeTrackedDir(baseDir);
      if (ownedStorage) await removeTrackedDir(storageDir);
    })();
    return stopping;
  };

  const reg: RunningRegistry = {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    port,
    pid,
    storageDir,
    configPath,
    get frozen() {
      return frozen;
    },
    get running() {
      return exitInfo === undefined;
    },
    logs: () => logBuf,
    freeze: async () => {
      if (exitInfo !== undefined || stopping) throw new Error(`registry ${port} is not running`);
      signal(pid, 'SIGSTOP');
      frozen = true;
      if (!(await waitForState(pid, (s) => s === 'T' || s === 't', 2000))) {
        throw new Error(`registry pid ${pid} did not stop after SIGSTOP`);
      }
    },
    thaw: async () => {
      if (exitInfo !== undefined) throw new Error(`registry ${port} is not running`);
      signal(pid, 'SIGCONT');
      frozen = false;
      if (!(await waitForState(pid, (s) => s !== 'T' && s !== 't', 2000))) {
        throw new Error(`registry pid ${pid} did not resume after SIGCONT`);
      }
    },
    stop,
  };

  // Wait for readiness: GET /v2/ -> 200, bounded.
  const deadline = Date.now() + startTimeoutMs;
  let lastErr = 'no attempt';
  for (;;) {
    if (exitInfo !== undefined) {
      await Promise.race([closed, sleep(1000)]);
      await stop();
      throw new RegistryStartError(
        `${REGISTRY_BIN} exited during startup (code=${exitInfo.code}, signal=${exitInfo.signal}); output:\n${logBuf.trim() || '(none)'}`,
        logBuf,
      );
    }
    try {
      const res = await httpGet(`${reg.url}/v2/`, { timeoutMs: 1000 });
      // The instance header proves that *this* process answered, not another
      // registry that already holds the port (ours would then die with
      // "address already in use", but possibly only after the probe).
      const answeredBy = res.headers[INSTANCE_HEADER.toLowerCase()];
      if (readyStatuses.includes(res.status) && answeredBy === instanceId) return reg;
      lastErr = answeredBy === instanceId ? `GET /v2/ -> ${res.status}` : `GET /v2/ answered by another process (${INSTANCE_HEADER}: ${String(answeredBy)})`;
    } catch (err) {
      lastErr = (err as Error).message;
    }
    if (Date.now() >= deadline) {
      await stop();
      throw new RegistryStartError(
        `${REGISTRY_BIN} on ${reg.url} not ready after ${startTimeoutMs} ms (last: ${lastErr}); output:\n${logBuf.trim() || '(none)'}`,
        logBuf,
      );
    }
    await Promise.race([sleep(50), exited]);
  }
}

export class RegistryStartError extends Error {
  override readonly name = 'RegistryStartError';
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
  }
}

/**
 * Start a registry on 127.0.0.1. Register `t.teardown(() => reg.stop())` right away.
 * Retries with a new port (up to 3 attempts) if the picked port got taken meanwhile.
 */
export async function startRegistry(opts: StartRegistryOptions = {}): Promise<RunningRegistry> {
  const startTimeoutMs = opts.startTimeoutMs ?? 10_000;
  let storageDir = opts.storageDir;
  const ownedStorage = storageDir === undefined;
  if (storageDir === undefined) {
    storageDir = await mkdtemp(join(tmpdir(), 'mirrorgate-e2e-storage-'));
    trackDir(storageDir);
  } else {
    await mkdir(storageDir, { recursive: true });
  }
  const attempts = opts.port === undefined ? 3 : 1;
  let lastErr: unknown;
  for (let i = 0; i < attempts; i++) {
    const port = opts.port ?? (await freePort());
    try {
      // On failure spawnOnce already cleaned up its own dir (and owned storage):
      // re-create owned storage for the next attempt.
      if (i > 0 && ownedStorage) {
        await mkdir(storageDir, { recursive: true });
        trackDir(storageDir);
      }
      return await spawnOnce(port, storageDir, ownedStorage, {
        startTimeoutMs,
        readyStatuses: opts.readyStatuses ?? [200],
        ...(opts.extraConfig === undefined ? {} : { extraConfig: opts.extraConfig }),
      });
    } catch (err) {
      lastErr = err;
      const addrInUse = err instanceof RegistryStartError && /address already in use/i.test(err.output);
      if (!addrInUse) break;
    }
  }
  if (ownedStorage) await removeTrackedDir(storageDir);
  throw lastErr;
}
