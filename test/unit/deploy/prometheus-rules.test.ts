/**
 * deploy/prometheus/alerts.yaml is valid for Prometheus (`promtool check rules`) and every alert
 * fires on the series that should fire it and stays quiet on the ones beside them
 * (`promtool test rules deploy/prometheus/alerts.test.yaml`).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { requireTool } from '../../helpers/required-tool.js';

const run = promisify(execFile);
const DIR = fileURLToPath(new URL('../../../deploy/prometheus/', import.meta.url));

async function promtool(path: string, args: string[]): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run(path, args, { cwd: DIR, timeout: 60_000 });
    return { ok: true, output: stdout + stderr };
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    return { ok: false, output: stdout + stderr };
  }
}

t.test('promtool check rules', async (t) => {
  const path = requireTool(t, 'promtool', 'prometheus');
  if (path === undefined) return;
  const { ok, output } = await promtool(path, ['check', 'rules', 'alerts.yaml']);
  t.ok(ok, output);
  t.match(output, /SUCCESS: \d+ rules found/);
});

t.test('promtool test rules', async (t) => {
  const path = requireTool(t, 'promtool', 'prometheus');
  if (path === undefined) return;
  const { ok, output } = await promtool(path, ['test', 'rules', 'alerts.test.yaml']);
  t.ok(ok, output);
  t.match(output, 'SUCCESS');
});
