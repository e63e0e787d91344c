/** Temp dirs for e2e tests, removed in teardown (and on process exit as a fallback). */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { removeTrackedDir, trackDir } from './cleanup.js';

/** mkdtemp under os.tmpdir(); removed by `t.teardown`. Paths never contain ':'. */
export async function tempDir(t: Test, prefix = 'mirrorgate-e2e-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  trackDir(dir);
  t.teardown(() => removeTrackedDir(dir));
  return dir;
}
