/**
 * Availability check for the external binaries the e2e suites need.
 *
 * Policy:
 * - binaries present: run.
 * - missing and `process.env.CI` set: FAIL (a CI job that silently skips its e2e
 *   suite is worse than a red one).
 * - missing locally: skip the whole file with a visible notice.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Test } from 'tap';

export const E2E_SKIP_NOTICE = 'e2e skipped: docker-registry/skopeo not installed (apt-get install docker-registry skopeo)';

export const REQUIRED_BINARIES = ['docker-registry', 'skopeo'] as const;

/** Absolute path of an executable found on PATH, or undefined. */
export function findExecutable(name: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

export type E2eToolsResult = { ok: true } | { ok: false; reason: string };

export function e2eTools(): E2eToolsResult {
  const missing = REQUIRED_BINARIES.filter((b) => findExecutable(b) === undefined);
  if (missing.length === 0) return { ok: true };
  return { ok: false, reason: `missing binaries on PATH: ${missing.join(', ')}` };
}

/** `CI` set to anything except '', '0' or 'false' counts as CI. */
export function isCi(): boolean {
  const v = process.env.CI;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/**
 * Call at the top of every e2e test file:
 *
 *   if (requireE2eTools(t)) { ...register tests... }
 *
 * Returns true when the suite should run. Otherwise it has already recorded a
 * failure (CI) or a skip with a visible notice (local) on `t`.
 */
export function requireE2eTools(t: Test): boolean {
  const tools = e2eTools();
  if (tools.ok) return true;
  if (isCi()) {
    t.fail(`e2e tools are required in CI (CI=${process.env.CI}): ${tools.reason} (apt-get install docker-registry skopeo)`);
    return false;
  }
  t.comment(E2E_SKIP_NOTICE);
  t.plan(0, `${E2E_SKIP_NOTICE} [${tools.reason}]`);
  return false;
}

/**
 * Like `requireE2eTools`, for a suite that also needs a real client daemon (dockerd,
 * containerd, podman): the binaries on PATH, and root when the daemon needs it. Same policy:
 * missing in CI fails, missing locally skips the file with a notice.
 */
export function requireClientTools(t: Test, binaries: readonly string[], install: string, opts: { root?: boolean } = {}): boolean {
  if (!requireE2eTools(t)) return false;
  const missing = binaries.filter((b) => findExecutable(b) === undefined);
  const notRoot = opts.root === true && process.getuid?.() !== 0;
  if (missing.length === 0 && !notRoot) return true;
  const reason = missing.length > 0 ? `missing binaries on PATH: ${missing.join(', ')} (${install})` : `${binaries.join(', ')} must run as root`;
  if (isCi()) {
    t.fail(`e2e clients are required in CI (CI=${process.env.CI}): ${reason}`);
    return false;
  }
  t.comment(`e2e skipped: ${reason}`);
  t.plan(0, `e2e skipped: ${reason}`);
  return false;
}
