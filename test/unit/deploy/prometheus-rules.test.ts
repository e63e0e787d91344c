/**
 * deploy/prometheus/alerts.yaml is valid for Prometheus (`promtool check rules`) and every alert
 * fires on the series that should fire it and stays quiet on the ones beside them
 * (`promtool test rules deploy/prometheus/alerts.test.yaml`).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { parse } from 'yaml';
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

t.test("every alert's runbook is a section of docs/operations.md", async (t) => {
  const rules = parse(readFileSync(join(DIR, 'alerts.yaml'), 'utf8')) as { groups: { rules: { alert: string; annotations: { runbook?: string } }[] }[] };
  const headings = readFileSync(new URL('../../../docs/operations.md', import.meta.url), 'utf8').matchAll(/^#{2,4} (.+)$/gm);
  // GitHub's anchors: lower case, spaces to dashes, punctuation dropped.
  const anchors = new Set(
    [...headings].map(([, title]) =>
      title!
        .toLowerCase()
        .replace(/[^a-z0-9 -]/g, '')
        .replace(/ /g, '-'),
    ),
  );
  const alerts = rules.groups.flatMap((group) => group.rules);
  t.ok(alerts.length >= 8);
  for (const { alert, annotations } of alerts) {
    const anchor = /^docs\/operations\.md#(.+)$/.exec(annotations.runbook ?? '')?.[1];
    t.ok(anchor !== undefined && anchors.has(anchor), `${alert}: runbook ${annotations.runbook} is a heading of docs/operations.md`);
  }
});
