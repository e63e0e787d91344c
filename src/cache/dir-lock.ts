/**
 * One process fills a cache directory at a time. Two would each empty `tmp/` on open (deleting
 * the other's fills in progress), keep an index that misses the other's blobs and evict by it.
 * So whoever opens the store to write (the gateway, `mirrorgate warm` on its own) holds
 * `<dir>/lock`, a file naming its pid; `mirrorgate cache` only inspects and takes no lock.
 *
 * A pid rather than proper-lockfile's refreshed mtime: after a crash (kill -9, OOM) a restarted
 * gateway takes over at once because the pid is gone, instead of waiting out a staleness period
 * with its listener not yet open. The directory is local disk, so the pid is meaningful. A
 * container's gateway is pid 1 after every restart: its own pid in the file is its own lock.
 */
import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export class DirLockedError extends Error {
  readonly code = 'DIR_LOCKED';
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(`the cache directory ${dir} is in use by process ${pid}`);
  }
}

/** Takes the lock of `dir` (which exists); resolves to its release. Throws DirLockedError when a live process holds it. */
export async function lockDir(dir: string): Promise<() => Promise<void>> {
  const file = join(dir, 'lock');
  const release = async (): Promise<void> => {
    if ((await holder(file)) === process.pid) await rm(file, { force: true });
  };
  // Written whole beside the lock, then linked into place: link fails when the lock exists, and
  // nobody ever reads a lock file before its pid is in it.
  const mine = join(dir, `lock.${process.pid}`);
  await writeFile(mine, `${process.pid}\n`);
  try {
    for (let tries = 0; tries < 3; tries++) {
      try {
        await link(mine, file);
        return release;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const pid = await holder(file);
      if (pid === process.pid) return release;
      if (pid !== undefined && alive(pid)) throw new DirLockedError(dir, pid);
      // Left by a process that is gone.
      await rm(file, { force: true });
    }
    throw new DirLockedError(dir, (await holder(file)) ?? 0);
  } finally {
    await rm(mine, { force: true });
  }
}

/** The pid holding the lock of `dir`, if any (a `workers: N` worker checks that it is its primary). */
export function lockHolder(dir: string): Promise<number | undefined> {
  return holder(join(dir, 'lock'));
}

async function holder(file: string): Promise<number | undefined> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
