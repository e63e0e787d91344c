/**
 * The files a config names (`tls.ca`, `auth.passwordFile`): resolved against
 * the config file's directory by the parser, checked on disk by
 * loadConfigFile only. Messages are compared exactly, positions included.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import t, { type Test } from 'tap';
import { checkFiles, type FileSystem } from '../../../src/config/file-checks.js';
import { ConfigError, formatProblems, loadConfigFile, parseConfig } from '../../../src/config/index.js';
import { parseConfigWithFiles } from '../../../src/config/load.js';

const doc = (...lines: string[]): string => lines.join('\n') + '\n';

const PEM = doc('-----BEGIN CERTIFICATE-----', 'MIIBszCCAVmgAwIBAgIUQ2Fub3QgYmUgdXNlZA==', '-----END CERTIFICATE-----');
/** What `openssl x509 -text` and many distro bundles look like: text around the blocks. */
const BUNDLE = doc('# Corp Root CA', 'subject=CN = Corp Root CA', PEM.trimEnd(), '', '# Corp Issuing CA', PEM.trimEnd());
const SECRET = 'hunter2-do-not-print-4f1c9a';

/** The ConfigError loadConfigFile rejects with; fails the test (and returns undefined) on anything else. */
async function loadError(t: Test, file: string, env: Record<string, string> = {}): Promise<ConfigError | undefined> {
  const caught = await loadConfigFile(file, env).then(
    () => undefined,
    (err: unknown) => err,
  );
  if (caught instanceof ConfigError) {
    t.equal(caught.code, 'CONFIG_INVALID');
    t.equal(formatProblems(file, caught.problems), caught.message, 'the message is the formatted problems');
    return caught;
  }
  t.fail(`expected a ConfigError, got ${caught === undefined ? 'a valid config' : String(caught)}`);
  return undefined;
}

/** Expects loadConfigFile(file) to fail with exactly these lines. */
async function expectProblems(t: Test, file: string, expected: readonly string[], env: Record<string, string> = {}): Promise<void> {
  const err = await loadError(t, file, env);
  t.equal(err?.message, expected.join('\n'));
  t.equal(err?.problems.length, expected.length, 'one problem per line');
}

/** Whether this process can read a file with mode 000 (root can: permission bits do not stop it). */
function canReadUnreadable(dir: string): boolean {
  const probe = join(dir, 'probe');
  chmodSync(probe, 0o000);
  try {
    readFileSync(probe);
    return true;
  } catch {
    return false;
  } finally {
    chmodSync(probe, 0o600);
  }
}

t.test('valid files load, and relative paths come back absolute', async (t) => {
  const dir = t.testdir({
    etc: {
      'mirrorgate.yaml': doc(
        'upstreams:',
        '  - name: hub',
        '    url: https://registry-1.docker.io',
        '    tls: { ca: certs/corp.pem }',
        '    auth: { username: bot, passwordFile: ../run/hub.secret }',
        '  - name: nexus',
        '    url: https://nexus.corp',
        '    tls:',
        '      ca: ${ABS_CA}',
        '    auth:',
        '      username: nexus',
        '      passwordFile: ./${SECRET_NAME}',
        'registries:',
        '  ghcr.io:',
        '    upstreams:',
        '      - { name: ghcr, url: "https://ghcr.io", tls: { ca: ./certs/bundle.pem } }',
      ),
      certs: { 'corp.pem': PEM, 'bundle.pem': BUNDLE },
      'nexus.secret': 'p@ss word', // no trailing newline, spaces are content
    },
    run: { 'hub.secret': `${SECRET}\n` },
    'abs.pem': PEM,
  });
  const file = join(dir, 'etc', 'mirrorgate.yaml');
  const config = await loadConfigFile(file, { ABS_CA: join(dir, 'abs.pem'), SECRET_NAME: 'nexus.secret' });
  t.equal(config.upstreams[0]!.tls.ca, join(dir, 'etc', 'certs', 'corp.pem'));
  t.equal(config.upstreams[0]!.auth?.passwordFile, join(dir, 'run', 'hub.secret'), '".." is resolved too');
  t.equal(config.upstreams[1]!.tls.ca, join(dir, 'abs.pem'), 'an absolute path (here from ${VAR}) is kept');
  t.equal(config.upstreams[1]!.auth?.passwordFile, join(dir, 'etc', 'nexus.secret'), 'a relative ${VAR} result is resolved');
  t.equal(config.registries[1]!.upstreams[0]!.tls.ca, join(dir, 'etc', 'certs', 'bundle.pem'), 'registries are resolved too');
  t.notOk(JSON.stringify(config).includes(SECRET), 'the Config holds the path, not the password');
});

t.test('a relative config file name: its directory is taken from the working directory', async (t) => {
  const dir = t.testdir({
    'mirrorgate.yaml': doc('upstreams:', '  - { name: a, url: "https://a", tls: { ca: ca.pem } }'),
    'ca.pem': PEM,
  });
  const file = relative(process.cwd(), join(dir, 'mirrorgate.yaml'));
  t.notOk(file.startsWith('/'), `the test really uses a relative name (${file})`);
  const config = await loadConfigFile(file, {});
  t.equal(config.source, file, 'source stays as given');
  t.equal(config.upstreams[0]!.tls.ca, join(dir, 'ca.pem'), 'the path is absolute all the same');
});

t.test('a missing CA bundle', async (t) => {
  const dir = t.testdir({
    conf: {
      'x.yaml': doc(
        'upstreams:', // 1
        '  - name: hub', // 2
        '    url: https://registry-1.docker.io', // 3
        '    tls:', // 4
        '      ca: certs/corp.pem', // 5
        '  - name: gcr', // 6
        '    url: https://mirror.gcr.io', // 7
        '    tls: { ca: "/nonexistent/ca.pem" }', // 8
      ),
    },
  });
  const file = join(dir, 'conf', 'x.yaml');
  await expectProblems(t, file, [
    `${file}:5:11 upstreams[0].tls.ca: cannot read file ${join(dir, 'conf', 'certs', 'corp.pem')} (ENOENT)`,
    `${file}:8:16 upstreams[1].tls.ca: cannot read file /nonexistent/ca.pem (ENOENT)`,
  ]);
});

t.test('a CA file must hold a PEM certificate block', async (t) => {
  const contents: [string, string | Buffer, boolean][] = [
    ['one certificate', PEM, true],
    ['a bundle with comments', BUNDLE, true],
    ['CRLF line ends', PEM.replaceAll('\n', '\r\n'), true],
    ['an empty file', '', false],
    ['plain text', 'not a certificate\n', false],
    ['a private key', doc('-----BEGIN PRIVATE KEY-----', 'MIIEvQIBADANBg==', '-----END PRIVATE KEY-----'), false],
    ['a BEGIN line without END', doc('-----BEGIN CERTIFICATE-----', 'MIIB'), false],
    ['DER bytes', Buffer.from([0x30, 0x82, 0x01, 0xb3, 0x30, 0x82, 0x01, 0x59, 0xa0, 0x03]), false],
  ];
  for (const [what, content, accepted] of contents) {
    const dir = t.testdir({
      'x.yaml': doc('upstreams:', '  - name: hub', '    url: https://registry-1.docker.io', '    tls: { ca: ca.crt }'),
      'ca.crt': content,
    });
    const file = join(dir, 'x.yaml');
    if (accepted) {
      const config = await loadConfigFile(file, {});
      t.equal(config.upstreams[0]!.tls.ca, join(dir, 'ca.crt'), `${what} is accepted`);
    } else {
      const err = await loadError(t, file);
      t.equal(
        err?.message,
        `${file}:4:16 upstreams[0].tls.ca: file ${join(dir, 'ca.crt')} must contain a PEM certificate (a "-----BEGIN CERTIFICATE-----" block)`,
        `${what} is refused`,
      );
    }
  }
});

t.test('a directory instead of a file', async (t) => {
  const dir = t.testdir({
    'x.yaml': doc(
      'upstreams:', // 1
      '  - name: hub', // 2
      '    url: https://registry-1.docker.io', // 3
      '    tls: { ca: certs }', // 4
      '    auth: { username: bot, passwordFile: secrets/ }', // 5
    ),
    certs: { 'ca.pem': PEM },
    secrets: { hub: SECRET },
  });
  const file = join(dir, 'x.yaml');
  await expectProblems(t, file, [
    `${file}:4:16 upstreams[0].tls.ca: cannot read file ${join(dir, 'certs')} (EISDIR)`,
    `${file}:5:42 upstreams[0].auth.passwordFile: cannot read file ${join(dir, 'secrets')} (EISDIR)`,
  ]);
});

t.test('an empty password file', async (t) => {
  const contents: [string, string, boolean][] = [
    ['no bytes', '', false],
    ['a lone line break (the authenticator strips it)', '\n', false],
    ['a lone CRLF', '\r\n', false],
    ['a password without line break', 'x', true],
    ['a password with line break', 'x\n', true],
    ['spaces (they are a password)', '  ', true],
  ];
  for (const [what, content, accepted] of contents) {
    const dir = t.testdir({
      'x.yaml': doc(
        'upstreams:',
        '  - name: hub',
        '    url: https://registry-1.docker.io',
        '    auth:',
        '      username: bot',
        '      passwordFile: hub.secret',
      ),
      'hub.secret': content,
    });
    const file = join(dir, 'x.yaml');
    if (accepted) {
      const config = await loadConfigFile(file, {});
      t.equal(config.upstreams[0]!.auth?.passwordFile, join(dir, 'hub.secret'), `${what} is accepted`);
    } else {
      const err = await loadError(t, file);
      t.equal(err?.message, `${file}:6:21 upstreams[0].auth.passwordFile: file ${join(dir, 'hub.secret')} is empty`, `${what} is refused`);
    }
  }
});

t.test('non-regular files are refused without being opened', async (t) => {
  const dir = t.testdir({
    'x.yaml': doc(
      'upstreams:', // 1
      '  - name: hub', // 2
      '    url: https://registry-1.docker.io', // 3
      '    tls: { ca: /dev/null }', // 4
      '    auth: { username: bot, passwordFile: /dev/null }', // 5
    ),
  });
  const file = join(dir, 'x.yaml');
  await expectProblems(t, file, [
    `${file}:4:16 upstreams[0].tls.ca: cannot read file /dev/null (not a regular file)`,
    `${file}:5:42 upstreams[0].auth.passwordFile: cannot read file /dev/null (not a regular file)`,
  ]);

  const fifoDir = t.testdir({ 'x.yaml': doc('upstreams:', '  - { name: a, url: "https://a", auth: { username: u, passwordFile: pipe } }') });
  let mkfifo: string | false = false;
  try {
    execFileSync('mkfifo', [join(fifoDir, 'pipe')], { stdio: 'ignore' });
  } catch (err) {
    mkfifo = `mkfifo failed: ${String(err)}`;
  }
  t.test('a FIFO does not block the check', { skip: mkfifo }, async (t) => {
    const fifoFile = join(fifoDir, 'x.yaml');
    // Opening the FIFO for reading would wait for a writer forever; the test's timeout would catch that.
    await expectProblems(t, fifoFile, [`${fifoFile}:2:69 upstreams[0].auth.passwordFile: cannot read file ${join(fifoDir, 'pipe')} (not a regular file)`]);
  });
});

t.test('an unreadable file (mode 000)', async (t) => {
  const dir = t.testdir({
    'x.yaml': doc(
      'upstreams:', // 1
      '  - name: hub', // 2
      '    url: https://registry-1.docker.io', // 3
      '    tls: { ca: ca.pem }', // 4
      '    auth: { username: bot, passwordFile: hub.secret }', // 5
    ),
    'ca.pem': PEM,
    'hub.secret': SECRET,
    probe: '',
  });
  // Root (as in the CI container) reads mode-000 files regardless, so EACCES cannot be produced
  // for real there; the simulated test below covers the message in every environment.
  const skip = canReadUnreadable(dir) ? `this process (uid ${process.getuid?.() ?? '?'}) can read mode-000 files, so there is no real EACCES to test` : false;
  t.test('is reported with EACCES', { skip }, async (t) => {
    chmodSync(join(dir, 'ca.pem'), 0o000);
    chmodSync(join(dir, 'hub.secret'), 0o000);
    t.teardown(() => {
      chmodSync(join(dir, 'ca.pem'), 0o600);
      chmodSync(join(dir, 'hub.secret'), 0o600);
    });
    const file = join(dir, 'x.yaml');
    await expectProblems(t, file, [
      `${file}:4:16 upstreams[0].tls.ca: cannot read file ${join(dir, 'ca.pem')} (EACCES)`,
      `${file}:5:42 upstreams[0].auth.passwordFile: cannot read file ${join(dir, 'hub.secret')} (EACCES)`,
    ]);
  });
});

t.test('read errors are reported by code (simulated, so it also runs as root)', async (t) => {
  const denied = (file: string): Promise<never> => Promise.reject(Object.assign(new Error(`EACCES: permission denied, open '${file}'`), { code: 'EACCES' }));
  const fs: FileSystem = {
    stat: (file) => (file === '/parent-denied/ca.pem' ? denied(file) : Promise.resolve({ isFile: () => true, isDirectory: () => false })),
    readFile: denied,
  };
  const problems = await checkFiles(
    [
      { path: 'upstreams[0].tls.ca', line: 4, col: 16, kind: 'ca', file: '/etc/ca.pem' },
      { path: 'upstreams[0].auth.passwordFile', line: 5, col: 42, kind: 'passwordFile', file: '/run/hub.secret' },
      { path: 'upstreams[1].tls.ca', line: 9, col: 16, kind: 'ca', file: '/parent-denied/ca.pem' },
    ],
    fs,
  );
  t.strictSame(problems, [
    { path: 'upstreams[0].tls.ca', line: 4, col: 16, message: 'cannot read file /etc/ca.pem (EACCES)' },
    { path: 'upstreams[0].auth.passwordFile', line: 5, col: 42, message: 'cannot read file /run/hub.secret (EACCES)' },
    { path: 'upstreams[1].tls.ca', line: 9, col: 16, message: 'cannot read file /parent-denied/ca.pem (EACCES)' },
  ]);
});

t.test('every file problem is reported at once, in document order, with registry paths', async (t) => {
  const dir = t.testdir({
    'x.yaml': doc(
      'registries:', // 1
      '  ghcr.io:', // 2
      '    upstreams:', // 3
      '      - name: ghcr', // 4
      '        url: https://ghcr.io', // 5
      '        tls: { ca: ghcr-ca.pem }', // 6
      '        auth: { username: bot, passwordFile: ghcr.secret }', // 7
      'upstreams:', // 8
      '  - name: hub', // 9
      '    url: https://registry-1.docker.io', // 10
      '    tls: { ca: missing.pem }', // 11
      '    auth: { username: bot, passwordFile: empty.secret }', // 12
      '  - name: fine', // 13
      '    url: https://fine.example', // 14
      '    tls: { ca: good.pem }', // 15
      '    auth: { username: bot, passwordFile: good.secret }', // 16
      '  - name: notes', // 17
      '    url: https://notes.example', // 18
      '    tls: { ca: notes.txt }', // 19
    ),
    'ghcr-ca.pem': 'junk',
    'empty.secret': '',
    'good.pem': PEM,
    'good.secret': SECRET,
    'notes.txt': 'todo\n',
  });
  const file = join(dir, 'x.yaml');
  const at = (name: string): string => join(dir, name);
  await expectProblems(t, file, [
    `${file}:6:20 registries.ghcr.io.upstreams[0].tls.ca: file ${at('ghcr-ca.pem')} must contain a PEM certificate (a "-----BEGIN CERTIFICATE-----" block)`,
    `${file}:7:46 registries.ghcr.io.upstreams[0].auth.passwordFile: cannot read file ${at('ghcr.secret')} (ENOENT)`,
    `${file}:11:16 upstreams[0].tls.ca: cannot read file ${at('missing.pem')} (ENOENT)`,
    `${file}:12:42 upstreams[0].auth.passwordFile: file ${at('empty.secret')} is empty`,
    `${file}:19:16 upstreams[2].tls.ca: file ${at('notes.txt')} must contain a PEM certificate (a "-----BEGIN CERTIFICATE-----" block)`,
  ]);
});

t.test('a file named several times is reported at each use', async (t) => {
  const dir = t.testdir({
    'x.yaml': doc(
      'upstreams:', // 1
      '  - name: a', // 2
      '    url: https://a.example', // 3
      '    tls: &corp { ca: corp.pem }', // 4
      '  - name: b', // 5
      '    url: https://b.example', // 6
      '    tls: *corp', // 7
      '  - name: c', // 8
      '    url: https://c.example', // 9
      '    tls: { ca: ./corp.pem }', // 10
    ),
  });
  const file = join(dir, 'x.yaml');
  const missing = `cannot read file ${join(dir, 'corp.pem')} (ENOENT)`;
  await expectProblems(t, file, [
    `${file}:4:22 upstreams[0].tls.ca: ${missing}`,
    // An aliased mapping shares the anchor's value node, so the position is the anchor's (as for every other check).
    `${file}:4:22 upstreams[1].tls.ca: ${missing}`,
    `${file}:10:16 upstreams[2].tls.ca: ${missing}`,
  ]);
});

t.test("the password file's content never appears in a message", async (t) => {
  const dir = t.testdir({
    'x.yaml': doc(
      'upstreams:', // 1
      '  - name: hub', // 2
      '    url: https://registry-1.docker.io', // 3
      '    tls: { ca: hub.secret }', // 4: the secret given as a CA by mistake
      '    auth: { username: bot, passwordFile: hub.secret }', // 5: fine
      '  - name: gcr', // 6
      '    url: https://mirror.gcr.io', // 7
      '    tls: { ca: nope.pem }', // 8
      '    auth: { username: bot, passwordFile: blank.secret }', // 9
    ),
    'hub.secret': `${SECRET}\n`,
    'blank.secret': '\n',
  });
  const file = join(dir, 'x.yaml');
  const err = await loadError(t, file);
  t.equal(
    err?.message,
    [
      `${file}:4:16 upstreams[0].tls.ca: file ${join(dir, 'hub.secret')} must contain a PEM certificate (a "-----BEGIN CERTIFICATE-----" block)`,
      `${file}:8:16 upstreams[1].tls.ca: cannot read file ${join(dir, 'nope.pem')} (ENOENT)`,
      `${file}:9:42 upstreams[1].auth.passwordFile: file ${join(dir, 'blank.secret')} is empty`,
    ].join('\n'),
  );
  t.notOk(err?.message.includes(SECRET), 'not in the message');
  t.notOk(JSON.stringify(err?.problems).includes(SECRET), 'not in the problems');
  t.notOk(err?.stack?.includes(SECRET), 'not in the stack');
});

t.test('files are only checked once the text has no problems', async (t) => {
  const dir = t.testdir({
    'x.yaml': doc('upstreams:', '  - name: hub', '    url: https://registry-1.docker.io', '    weight: -1', '    tls: { ca: missing.pem }'),
  });
  const file = join(dir, 'x.yaml');
  await expectProblems(t, file, [`${file}:4:13 upstreams[0].weight: must be an integer >= 0, got -1`]);
});

t.test('parseConfig resolves paths but does not touch the file system', async (t) => {
  const yaml = doc(
    'upstreams:', // 1
    '  - name: hub', // 2
    '    url: https://registry-1.docker.io', // 3
    '    tls: { ca: certs/ca.pem }', // 4
    '    auth:', // 5
    '      username: bot', // 6
    '      passwordFile: "/run/secrets/hub"', // 7
    'registries:', // 8
    '  ghcr.io:', // 9
    '    upstreams:', // 10
    '      - { name: ghcr, url: "https://ghcr.io", tls: { ca: "../ca/${CA_NAME}" } }', // 11
  );
  const source = '/nonexistent/etc/mirrorgate.yaml';
  const config = parseConfig(yaml, source, { CA_NAME: 'ghcr.pem' });
  t.equal(config.upstreams[0]!.tls.ca, '/nonexistent/etc/certs/ca.pem', 'missing files are no problem for parseConfig');

  const parsed = parseConfigWithFiles(yaml, source, { CA_NAME: 'ghcr.pem' });
  t.strictSame(parsed.config, config);
  t.strictSame(parsed.files, [
    { path: 'upstreams[0].tls.ca', line: 4, col: 16, kind: 'ca', file: '/nonexistent/etc/certs/ca.pem' },
    { path: 'upstreams[0].auth.passwordFile', line: 7, col: 21, kind: 'passwordFile', file: '/run/secrets/hub' },
    { path: 'registries.ghcr.io.upstreams[0].tls.ca', line: 11, col: 58, kind: 'ca', file: '/nonexistent/ca/ghcr.pem' },
  ]);
  t.ok(Object.isFrozen(parsed.files), 'the references are frozen like the Config');

  const relative = parseConfigWithFiles(yaml, 'conf/test.yaml', { CA_NAME: 'ghcr.pem' });
  t.equal(relative.files[0]!.file, resolve('conf', 'certs', 'ca.pem'), 'a relative source is taken from the working directory');
});
