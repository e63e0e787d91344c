/**
 * `mirrorgate client-config` through the built CLI: the options parsed as for the other
 * commands, one format printed bare on stdout (its note on stderr), the exit codes for a
 * wildcard listener without --endpoint and for an unknown format, and --write's layout.
 * What the files contain is test/unit/cli/client-config.test.ts; that they work, the e2e suite.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { runCli, tempDir } from '../../helpers/cli-process.js';

const config = (listen: string): string => `listen: "${listen}"
upstreams:
  - { name: hub, url: "https://registry-1.docker.io" }
registries:
  ghcr.io:
    upstreams: [{ name: ghcr, url: "https://ghcr.io" }]
`;

t.test('client-config from the built CLI', { timeout: 30_000 }, async (t) => {
  const dir = await tempDir(t);
  const local = join(dir, 'local.yaml');
  const wildcard = join(dir, 'wildcard.yaml');
  await writeFile(local, config('127.0.0.1:5000'));
  await writeFile(wildcard, config('0.0.0.0:5000'));

  const docker = await runCli(t, ['client-config', '-c', local, '--format', 'docker']);
  t.equal(docker.code, 0);
  t.same(
    JSON.parse(docker.stdout.join('\n')),
    { 'registry-mirrors': ['http://127.0.0.1:5000'], 'insecure-registries': ['127.0.0.1:5000'] },
    'the listener is the endpoint',
  );
  t.match(docker.stderr.join('\n'), /^# \/etc\/docker\/daemon\.json: /, 'the note goes to stderr');

  const refused = await runCli(t, ['client-config', '-c', wildcard]);
  t.equal(refused.code, 2, 'a wildcard listener and no --endpoint: bad usage');
  t.same(refused.stdout, []);
  t.match(refused.stderr.join('\n'), /listens on 0\.0\.0\.0:5000, an address clients cannot use: .*--endpoint/);

  t.match(await runCli(t, ['client-config', '-c', local, '--format', 'cri-o']), { code: 2, stderr: [/--format must be one of/] });
  t.match(await runCli(t, ['client-config', '-c', local, '--endpoint', 'gw:5000']), { code: 2, stderr: [/--endpoint must start with http/] });

  const out = join(dir, 'out');
  const written = await runCli(t, ['client-config', '-c', wildcard, '--endpoint', 'https://gw.company.com', '--insecure', '--write', out]);
  t.equal(written.code, 0, written.stderr.join('\n'));
  t.same(JSON.parse(await readFile(join(out, 'etc/docker/daemon.json'), 'utf8')), {
    'registry-mirrors': ['https://gw.company.com'],
    'insecure-registries': ['gw.company.com'],
  });
  t.match(
    await readFile(join(out, 'etc/containerd/certs.d/ghcr.io/hosts.toml'), 'utf8'),
    /^\[host\."https:\/\/gw\.company\.com"\]\n {2}capabilities = \["pull", "resolve"\]\n {2}skip_verify = true$/m,
  );
  t.match(await readFile(join(out, 'etc/containers/registries.conf.d/mirrorgate.conf'), 'utf8'), /^location = "gw\.company\.com"\ninsecure = true$/m);
  t.match(await readFile(join(out, 'etc/containerd/conf.d/mirrorgate.toml'), 'utf8'), /config_path = "\/etc\/containerd\/certs\.d"/);
  t.equal(written.stdout.filter((line) => line.startsWith(out)).length, 5, 'one line per file written');
});
