/**
 * `access:` and the object and list forms of `listen:`, read by the real parser: the values they
 * give, and each mistake reported with its key path and line.
 */
import t from 'tap';
import { ConfigError, parseConfig } from '../../../src/config/index.js';
import { parseHtpasswd } from '../../../src/config/htpasswd.js';

const HUB = 'upstreams:\n  - { name: hub, url: "https://registry-1.docker.io" }\n';
const parse = (yaml: string) => parseConfig(yaml, 'conf/x.yaml', {});
const problems = (yaml: string): string[] => {
  try {
    parse(yaml);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split('\n');
    throw err;
  }
};

t.test('listen: a string, a mapping, a list of both', async (t) => {
  t.same(parse(HUB).listen, [{ host: '0.0.0.0', port: 5000 }]);
  const one = parse(`listen: { address: "0.0.0.0:443", tls: { cert: /etc/mirrorgate/tls.crt, key: /etc/mirrorgate/tls.key } }\n${HUB}`);
  t.same(one.listen, [{ host: '0.0.0.0', port: 443, tls: { cert: '/etc/mirrorgate/tls.crt', key: '/etc/mirrorgate/tls.key', http2: true } }]);
  const both = parse(
    `listen:\n  - { address: "0.0.0.0:443", tls: { cert: /etc/mirrorgate/tls.crt, key: /etc/mirrorgate/tls.key, ca: clients.pem, http2: false } }\n  - "0.0.0.0:5000"\n${HUB}`,
  );
  t.same(both.listen, [
    {
      host: '0.0.0.0',
      port: 443,
      tls: { cert: '/etc/mirrorgate/tls.crt', key: '/etc/mirrorgate/tls.key', ca: `${process.cwd()}/conf/clients.pem`, http2: false },
    },
    { host: '0.0.0.0', port: 5000 },
  ]);
});

t.test('listen mistakes name the key and line', async (t) => {
  t.same(problems(`listen: { address: "0.0.0.0:443", tls: { cert: a.crt } }\n${HUB}`), ['conf/x.yaml:1:40 listen.tls.key: required key is missing']);
  t.same(problems(`listen:\n  - "0.0.0.0:5000"\n  - { adress: "0.0.0.0:5001" }\n${HUB}`), [
    'conf/x.yaml:3:5 listen[1].address: required key is missing',
    'conf/x.yaml:3:7 listen[1].adress: unknown key; did you mean "address"?',
  ]);
  t.same(problems(`listen: ["0.0.0.0:5000", "0.0.0.0:5000"]\n${HUB}`), [
    'conf/x.yaml:1:26 listen[1]: duplicate listen address 0.0.0.0:5000; first used at line 1',
  ]);
  t.same(problems(`listen: []\n${HUB}`), ['conf/x.yaml:1:9 listen: must list at least one listener, got an empty sequence']);
});

t.test('access: rules, users, networks', async (t) => {
  const config = parse(
    `${HUB}access:\n  htpasswd: /etc/mirrorgate/htpasswd\n  rules:\n    - { repositories: ["library/*"], allow: anonymous }\n    - { repositories: ["private/*"], allow: [ci] }      # user names from the htpasswd file\n  networks: ["10.0.0.0/8", "192.0.2.7"]\n`,
  );
  t.same(config.access, {
    htpasswd: '/etc/mirrorgate/htpasswd',
    rules: [
      { repositories: ['library/*'], registries: [], allow: { anonymous: true } },
      { repositories: ['private/*'], registries: [], allow: { anonymous: false, users: ['ci'] } },
    ],
    networks: ['10.0.0.0/8', '192.0.2.7/32'],
  });
  t.equal(parse(HUB).access, undefined, 'no access: everything open');
});

t.test('access mistakes name the key and line', async (t) => {
  t.same(problems(`${HUB}access:\n  rules:\n    - { repositories: ["private/*"], allow: [ci] }\n`), [
    'conf/x.yaml:4:3 access.rules[0]: names users, so access.htpasswd is required (where their passwords are)',
  ]);
  t.same(problems(`${HUB}access:\n  rules:\n    - { repositories: [], allow: everyone }\n`), [
    'conf/x.yaml:5:23 access.rules[0].repositories: must list at least one of the repository patterns, got an empty sequence',
    'conf/x.yaml:5:34 access.rules[0].allow: must be "anonymous" or a list of user names from access.htpasswd, got string "everyone"',
  ]);
  t.same(problems(`${HUB}access:\n  rules: [{ repositories: ["*"], allow: anonymous, registries: [quay.io] }]\n  networks: [10.0.0.0/33]\n`), [
    'conf/x.yaml:4:65 access.rules[0].registries[0]: must be a registry this config serves (docker.io), got string "quay.io"',
    'conf/x.yaml:5:14 access.networks[0]: must be an address or CIDR such as "10.0.0.0/8" or "fd00::/8", got "10.0.0.0/33"',
  ]);
});

t.test('htpasswd: bcrypt lines only, problems without hashes', async (t) => {
  const parsed = parseHtpasswd('# users\nci:$2y$05$abcdefghijklmnopqrstuu5WlpxBsSyGkOf3Fo7kD3G7mQTh9j0zS\n\nold:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\nnocolon\n');
  t.same([...parsed.users.keys()], ['ci']);
  t.same(parsed.problems, [
    { line: 4, message: 'user "old": only bcrypt hashes are accepted (htpasswd -B)' },
    { line: 5, message: 'expected "user:bcrypt-hash"' },
  ]);
});
