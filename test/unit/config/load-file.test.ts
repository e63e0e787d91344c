import { join } from 'node:path';
import t from 'tap';
import { ConfigError, loadConfigFile } from '../../../src/config/index.js';

const GOOD = 'upstreams:\n  - name: hub\n    url: https://${HUB_HOST}\n';

t.test('loads, substitutes and freezes a file', async (t) => {
  const dir = t.testdir({ 'mirrorgate.yaml': GOOD });
  const file = join(dir, 'mirrorgate.yaml');
  const config = await loadConfigFile(file, { HUB_HOST: 'registry-1.docker.io' });
  t.equal(config.source, file);
  t.equal(config.upstreams[0]!.url, 'https://registry-1.docker.io');
  t.ok(Object.isFrozen(config.upstreams[0]));
});

t.test('uses process.env by default', async (t) => {
  process.env.HUB_HOST = 'hub.from-process-env.example';
  t.teardown(() => {
    delete process.env.HUB_HOST;
  });
  const dir = t.testdir({ 'mirrorgate.yaml': GOOD });
  const config = await loadConfigFile(join(dir, 'mirrorgate.yaml'));
  t.equal(config.upstreams[0]!.url, 'https://hub.from-process-env.example');
});

t.test('problems are prefixed with the file name', async (t) => {
  const dir = t.testdir({ 'bad.yaml': 'upstreams:\n  - name: hub\n    url: https://a\n    weight: -1\n' });
  const file = join(dir, 'bad.yaml');
  await t.rejects(loadConfigFile(file, {}), {
    name: 'ConfigError',
    code: 'CONFIG_INVALID',
    message: `${file}:4:13 upstreams[0].weight: must be an integer >= 0, got -1`,
  });
});

t.test('a missing file is a ConfigError at 1:1', async (t) => {
  const file = join(t.testdir({}), 'nope.yaml');
  const err = await loadConfigFile(file, {}).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(err, ConfigError);
  t.match(err, {
    code: 'CONFIG_INVALID',
    message: `${file}:1:1 cannot read config file: no such file (ENOENT)`,
    problems: [{ path: '', line: 1, col: 1, message: 'cannot read config file: no such file (ENOENT)' }],
  });
});

t.test('a directory is a ConfigError at 1:1', async (t) => {
  const dir = t.testdir({});
  await t.rejects(loadConfigFile(dir, {}), {
    code: 'CONFIG_INVALID',
    message: `${dir}:1:1 cannot read config file: is a directory, not a file (EISDIR)`,
  });
});
