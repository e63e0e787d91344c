/**
 * The common start of an e2e test file: the tool check, a work dir for the whole file, and
 * skopeo pulls through a gateway into fresh OCI layouts under it.
 *
 *   const suite = await e2eSuite(t, 'cdn');
 *   if (suite !== undefined) {
 *     const { root, work, pull } = suite;
 *     ...register tests...
 *   }
 */
import { join } from 'node:path';
import type { Test } from 'tap';
import { describeSkopeoResult, pullImage, verifyOciLayout, type SkopeoResult } from './skopeo.js';
import { tempDir } from './tmp.js';
import { requireE2eTools } from './tools.js';

export interface E2eSuite {
  /** The file's top-level Test (processes started on it live until the file ends). */
  readonly root: Test;
  /** Temp dir "mirrorgate-e2e-NAME-…", removed in teardown. */
  readonly work: string;
  /** A fresh path under `work` for the next pull: pull-1, pull-2, … */
  nextPullDir(): string;
  /** skopeo pull of `ref` through the gateway into `nextPullDir()`; 90 s timeout unless given. */
  pullTo(gateway: { url: string }, ref: string, opts?: { all?: boolean; timeoutMs?: number }): Promise<{ dest: string; result: SkopeoResult }>;
  /** `pullTo`, then the layout verified: its digests, or undefined after a `t.fail`. */
  pull(t: Test, gateway: { url: string }, ref: string, all?: boolean): Promise<string[] | undefined>;
}

/**
 * Undefined when the e2e tools are missing (`requireE2eTools` has then recorded the skip or
 * the CI failure on `t`): register no tests.
 */
export async function e2eSuite(t: Test, name: string): Promise<E2eSuite | undefined> {
  if (!requireE2eTools(t)) return undefined;
  const work = await tempDir(t, `mirrorgate-e2e-${name}-`);
  let pulls = 0;
  const nextPullDir = (): string => join(work, `pull-${++pulls}`);
  const pullTo: E2eSuite['pullTo'] = async (gateway, ref, opts = {}) => {
    const dest = nextPullDir();
    return { dest, result: await pullImage(gateway.url, ref, dest, { timeoutMs: opts.timeoutMs ?? 90_000, all: opts.all }) };
  };
  return {
    root: t,
    work,
    nextPullDir,
    pullTo,
    async pull(t, gateway, ref, all = false) {
      const { dest, result } = await pullTo(gateway, ref, { all });
      if (result.code !== 0) {
        t.fail(`skopeo pull ${ref} through ${gateway.url} failed: ${describeSkopeoResult(result)}`);
        return undefined;
      }
      return (await verifyOciLayout(dest)).digests;
    },
  };
}
