/**
 * Where the content the cache holds was fetched (issue 11 §2): per digest, the repositories an
 * upstream served it under. The store keys content by digest alone, so a layer fetched for
 * `private/app` could otherwise be asked for by digest through `library/alpine` by someone who
 * may read only the latter, and be served private bytes. With `access:` on, a cached copy is
 * served only to a client who may read one of the repositories it was fetched under; anyone
 * else is relayed to the upstreams under the repository they asked for (which proves it holds
 * the content there), and that repository is added.
 *
 * Kept on disk beside the blobs (`sources/sha256/<hex>`, one `registry repository` a line,
 * appended; O_APPEND writes of a line are atomic, so workers sharing the directory can all
 * add), so the knowledge survives restarts and is shared by `workers: N`. Recorded whether or
 * not `access:` is on, so turning it on later does not make the whole cache cold. Only facts an
 * upstream proved are recorded: a fill that committed, a relayed 200.
 */
import { appendFile, mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LRUCache } from 'lru-cache';

/** Whether the client asking may read `repository` of `registry` (the access rules in effect). */
export type RepositoryReader = (registry: string, repository: string) => boolean;

/** Past this many repositories a digest's record stops growing: one readable source is all a check needs. */
const MAX_SOURCES = 64;
/** Digests whose sources are kept in memory. */
const MEMORY_ENTRIES = 50_000;

const SHA256 = /^sha256:([a-f0-9]{64})$/;

export class BlobSources {
  readonly #memory = new LRUCache<string, Set<string>>({ max: MEMORY_ENTRIES });

  constructor(private readonly dir: string) {}

  /**
   * Whether `reader` may read a repository `digest` was fetched under. Memory first; on a miss
   * the file is read (another worker, or an earlier run, may have added one).
   */
  readable(digest: string, reader: RepositoryReader): boolean | Promise<boolean> {
    const known = this.#memory.get(digest);
    // Synchronous when memory knows a readable source: the hit path takes no extra promise.
    if (known !== undefined && anyReadable(known, reader)) return true;
    return this.#load(digest).then((sources) => anyReadable(sources, reader));
  }

  /** Adds `registry`/`repository` to what `digest` was fetched under; best effort (a failed write only costs a later relay). */
  record(digest: string, registry: string, repository: string): void {
    const path = this.#pathOf(digest);
    if (path === undefined) return;
    const source = `${registry} ${repository}`;
    let known = this.#memory.get(digest);
    if (known === undefined) {
      known = new Set();
      this.#memory.set(digest, known);
    }
    if (known.has(source) || known.size >= MAX_SOURCES) return;
    known.add(source);
    void mkdir(dirname(path), { recursive: true })
      .then(() => appendFile(path, `${source}\n`))
      .catch(() => undefined);
  }

  /** Follows the store's index: a blob that left it (evicted, removed) takes what it was fetched under along. */
  indexChanged(change: { readonly op: 'stored' | 'removed'; readonly digest: string }): void {
    if (change.op === 'removed') this.forget(change.digest);
  }

  forget(digest: string): void {
    this.#memory.delete(digest);
    const path = this.#pathOf(digest);
    if (path !== undefined) void rm(path, { force: true }).catch(() => undefined);
  }

  async #load(digest: string): Promise<Set<string>> {
    const path = this.#pathOf(digest);
    const text = path === undefined ? '' : await readFile(path, 'utf8').catch(() => '');
    const known = this.#memory.get(digest) ?? new Set<string>();
    for (const line of text.split('\n')) if (line !== '') known.add(line);
    if (known.size > 0) this.#memory.set(digest, known);
    return known;
  }

  #pathOf(digest: string): string | undefined {
    const hex = SHA256.exec(digest)?.[1];
    return hex === undefined ? undefined : join(this.dir, 'sources', 'sha256', hex.slice(0, 2), hex);
  }
}

function anyReadable(sources: ReadonlySet<string>, reader: RepositoryReader): boolean {
  for (const source of sources) {
    const space = source.indexOf(' ');
    if (space > 0 && reader(source.slice(0, space), source.slice(space + 1))) return true;
  }
  return false;
}
