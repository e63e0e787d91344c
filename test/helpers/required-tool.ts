/**
 * A test that needs a tool from a Debian package (promtool, systemd-analyze): present, it runs;
 * missing locally, the test is skipped with the reason; missing in CI, it fails, since .ci/run
 * installs it and a check that silently did not run is worse than a red one.
 */
import type { Test } from 'tap';
import { findExecutable, isCi } from '../e2e/helpers/tools.js';

/** The tool's path, or undefined when `t` has been skipped (locally) or failed (CI). */
export function requireTool(t: Test, name: string, debianPackage: string): string | undefined {
  const path = findExecutable(name);
  if (path !== undefined) return path;
  const reason = `${name} is not installed (apt-get install ${debianPackage})`;
  if (isCi()) t.fail(`${reason}: required in CI`);
  else t.plan(0, `skipped: ${reason}`);
  return undefined;
}
