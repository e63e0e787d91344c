/**
 * deploy/systemd/mirrorgate.service passes `systemd-analyze verify` with no warning at all (a
 * misspelt value is only a warning, exit 0, so stderr must be empty too), reloads with the
 * shell's kill (procps' /bin/kill is missing on a minimal Debian) and has systemd make its cache
 * directory for the dynamic user.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { tempDir } from '../../helpers/cli-process.js';
import { requireTool } from '../../helpers/required-tool.js';

const run = promisify(execFile);
const UNIT = readFileSync(new URL('../../../deploy/systemd/mirrorgate.service', import.meta.url), 'utf8');

const directives = (name: string): string[] => [...UNIT.matchAll(new RegExp(`^${name}=(.*)$`, 'gm'))].map((m) => m[1]!);

async function verify(path: string, unitText: string, dir: string): Promise<{ code: number; stderr: string }> {
  const file = join(dir, 'mirrorgate.service');
  await writeFile(file, unitText);
  try {
    const { stderr } = await run(path, ['verify', '--man=no', file], { timeout: 60_000 });
    return { code: 0, stderr };
  } catch (err) {
    const { code, stderr = '' } = err as { code?: number; stderr?: string };
    return { code: code ?? -1, stderr };
  }
}

t.test('systemd-analyze verify: no error, no warning', async (t) => {
  const path = requireTool(t, 'systemd-analyze', 'systemd');
  if (path === undefined) return;
  const dir = await tempDir(t);
  // ExecStart names /usr/bin/node, as Debian's nodejs installs it; verify checks it is executable.
  const unit = existsSync('/usr/bin/node') ? UNIT : UNIT.replace('ExecStart=/usr/bin/node ', `ExecStart=${process.execPath} `);
  t.same(await verify(path, unit, dir), { code: 0, stderr: '' });
  const broken = await verify(path, unit.replace('Type=simple', 'Type=simpel'), dir);
  t.match(broken.stderr, 'Failed to parse service type', 'a misspelt value shows on stderr: the check above can fail');
});

t.test('reload without procps, cache directory made by systemd', async (t) => {
  t.same(directives('ExecReload'), ["/bin/sh -c 'kill -HUP $MAINPID'"]);
  t.same(directives('CacheDirectory'), ['mirrorgate'], '/var/cache/mirrorgate, owned by the dynamic user');
  t.same(directives('DynamicUser'), ['yes']);
});
