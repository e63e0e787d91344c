/**
 * The tag memory on disk (`<cache dir>/tags.json`), so that a restarted gateway still knows which
 * digest each tag had: with every mirror down after a restart, a cached image still pulls by tag
 * (stale-if-error). Written whole to a temp file and renamed, so a crash leaves the old file or
 * the new one; a file that does not parse is ignored (the tags are learned again). Each entry
 * keeps the time it was learned, so a restart makes no tag fresher than it was.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TagMemory, TagEntry } from './tag-memory.js';

const FILE = 'tags.json';
const SHA256 = /^sha256:[a-f0-9]{64}$/;

/** Restores what the file holds into `memory`; the number of tags restored (0 without a readable file). */
export async function loadTags(dir: string, memory: TagMemory): Promise<number> {
  const text = await readFile(join(dir, FILE), 'utf8').catch(() => undefined);
  if (text === undefined) return 0;
  let entries: unknown;
  try {
    entries = (JSON.parse(text) as { tags?: unknown }).tags;
  } catch {
    return 0;
  }
  if (!Array.isArray(entries)) return 0;
  const valid = entries.filter(isEntry);
  memory.restore(valid);
  return valid.length;
}

/** Writes `memory` to the file, whole. */
export async function saveTags(dir: string, memory: TagMemory): Promise<void> {
  const tmp = join(dir, `${FILE}.${process.pid}.tmp`);
  await writeFile(tmp, JSON.stringify({ version: 1, tags: memory.entries() }));
  await rename(tmp, join(dir, FILE));
}

function isEntry(value: unknown): value is TagEntry {
  if (!Array.isArray(value) || value.length !== 3) return false;
  const [key, digest, at] = value as unknown[];
  return typeof key === 'string' && typeof digest === 'string' && SHA256.test(digest) && typeof at === 'number' && Number.isFinite(at);
}
