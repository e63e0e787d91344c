/**
 * Last-resort cleanup for processes and temp dirs started by the e2e helpers.
 *
 * Normal cleanup happens in `t.teardown(() => registry.stop())` etc. This module
 * guarantees that nothing is left behind when the test process ends anyway:
 *
 * 1. `process.on('exit')`: every tracked child gets SIGCONT (a SIGSTOPped process
 *    cannot act on SIGTERM) then SIGKILL; tracked temp dirs are removed. Sync.
 * 2. A detached janitor (`sh`, one per test process, started lazily) polls the
 *    test process every second. When it is gone — even killed by SIGKILL or by a
 *    tap timeout, where no `exit` listener runs — the janitor replays a journal
 *    of tracked pids/dirs and does the same SIGCONT+SIGKILL / rm -rf.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const pids = new Set<number>();
const dirs = new Set<string>();
let journal: string | undefined;
let installed = false;

const JANITOR_SCRIPT = `
parent=$1; journal=$2; jdir=$3
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
if [ -f "$journal" ]; then
  awk '$1=="+pid"{p[$2]=1} $1=="-pid"{delete p[$2]} END{for (k in p) print k}' "$journal" |
    while read -r pid; do kill -s CONT "$pid" 2>/dev/null; kill -s KILL "$pid" 2>/dev/null; done
  awk '{d=substr($0,6)} $1=="+dir"{s[d]=1} $1=="-dir"{delete s[d]} END{for (k in s) print k}' "$journal" |
    while IFS= read -r d; do case "$d" in /*) rm -rf -- "$d" ;; esac; done
fi
rm -rf -- "$jdir"
`;

function note(line: string): void {
  if (journal === undefined) return;
  try {
    appendFileSync(journal, line + '\n');
  } catch {
    // best effort
  }
}

function killHard(pid: number): void {
  for (const sig of ['SIGCONT', 'SIGKILL'] as const) {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

function onExit(): void {
  for (const pid of pids) killHard(pid);
  pids.clear();
  for (const dir of dirs) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
    } catch {
      // best effort
    }
  }
  dirs.clear();
  // Everything is handled: leave the janitor nothing to do.
  if (journal !== undefined) {
    try {
      writeFileSync(journal, '');
    } catch {
      // ignore
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', onExit);
  try {
    const jdir = mkdtempSync(join(tmpdir(), 'mirrorgate-e2e-janitor-'));
    journal = join(jdir, 'journal');
    writeFileSync(journal, '');
    const janitor = spawn('sh', ['-c', JANITOR_SCRIPT, 'mirrorgate-e2e-janitor', String(process.pid), journal, jdir], {
      detached: true,
      stdio: 'ignore',
    });
    janitor.on('error', () => {
      /* best effort: the exit handler still runs in most cases */
    });
    janitor.unref();
  } catch {
    journal = undefined;
  }
}

/** Track a child pid; it is SIGCONT+SIGKILLed if the test process ends first. */
export function trackPid(pid: number): void {
  install();
  pids.add(pid);
  note(`+pid ${pid}`);
}

export function untrackPid(pid: number): void {
  if (pids.delete(pid)) note(`-pid ${pid}`);
}

/** Track a temp dir (absolute path); it is removed if the test process ends first. */
export function trackDir(dir: string): void {
  install();
  dirs.add(dir);
  note(`+dir ${dir}`);
}

export function untrackDir(dir: string): void {
  if (dirs.delete(dir)) note(`-dir ${dir}`);
}

/** Remove a tracked dir, untracking it only once it is really gone. */
export async function removeTrackedDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  untrackDir(dir);
}
