/**
 * The users of `access.htpasswd`, re-read when the file changes (an edit, a Kubernetes Secret's
 * symlink swap: the server watches it and calls `reload()`), and the verification of their passwords. A file that no longer parses is
 * logged and ignored: the users read last stay in effect.
 *
 * bcrypt is slow on purpose (about 0.1–0.4 s of CPU at cost 10 in pure JavaScript), and a
 * client authenticates every request of a pull, so a verified password is remembered for
 * VERIFIED_TTL_MS (5 minutes) and a refused one for REFUSED_TTL_MS (10 s: a client retrying a
 * wrong password costs one bcrypt per 10 s). The memory is keyed by
 * sha256(user, password, the user's hash line), never by the password: changing or removing a
 * user's line in the file ends every remembered verification of it at once. Concurrent checks
 * of one credential share one bcrypt run.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import bcrypt from 'bcryptjs';
import { LRUCache } from 'lru-cache';
import { parseHtpasswd } from '../config/htpasswd.js';

export const VERIFIED_TTL_MS = 5 * 60_000;
export const REFUSED_TTL_MS = 10_000;

export interface HtpasswdEvents {
  /** The file was read again: `users` entries, or `error` (the earlier users stay). */
  readonly onReload?: (result: { users: number } | { error: string }) => void;
}

export class HtpasswdUsers {
  #users: ReadonlyMap<string, string> = new Map();
  readonly #verified = new LRUCache<string, boolean>({ max: 10_000, ttlAutopurge: false });
  readonly #running = new Map<string, Promise<boolean>>();

  private constructor(
    readonly file: string,
    private readonly events: HtpasswdEvents,
  ) {}

  /**
   * Reads the file now (a small file, read when the config is applied; throws when it cannot be
   * read or parsed). Whoever opens it calls `reload()` when the file changes.
   */
  static open(file: string, events: HtpasswdEvents = {}): HtpasswdUsers {
    const users = new HtpasswdUsers(file, events);
    users.#users = usersOf(file, readFileSync(file, 'utf8'));
    return users;
  }

  get count(): number {
    return this.#users.size;
  }

  /** True or false now when remembered; else a promise of the bcrypt verdict. */
  verify(user: string, password: string): boolean | Promise<boolean> {
    const hash = this.#users.get(user);
    if (hash === undefined) return false;
    const key = createHash('sha256').update(user).update('\0').update(password).update('\0').update(hash).digest('base64');
    const known = this.#verified.get(key);
    if (known !== undefined) return known;
    let running = this.#running.get(key);
    if (running === undefined) {
      running = bcrypt
        .compare(password, hash)
        .catch(() => false)
        .then((ok) => {
          this.#verified.set(key, ok, { ttl: ok ? VERIFIED_TTL_MS : REFUSED_TTL_MS });
          this.#running.delete(key);
          return ok;
        });
      this.#running.set(key, running);
    }
    return running;
  }

  /** Reads the file again now; the users stay as they were when it fails. */
  async reload(): Promise<void> {
    try {
      this.#users = await readUsers(this.file);
      this.events.onReload?.({ users: this.#users.size });
    } catch (err) {
      this.events.onReload?.({ error: (err as Error).message });
    }
  }
}

async function readUsers(file: string): Promise<ReadonlyMap<string, string>> {
  return usersOf(file, await readFile(file, 'utf8'));
}

function usersOf(file: string, text: string): ReadonlyMap<string, string> {
  const parsed = parseHtpasswd(text);
  const problem = parsed.problems[0];
  if (problem !== undefined) throw new Error(`${file} line ${problem.line}: ${problem.message}`);
  return parsed.users;
}
