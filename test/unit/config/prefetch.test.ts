/** `prefetch:` — what it becomes, and the positioned problems of a bad one. */
import t from 'tap';
import { ConfigError, parseConfig, type Config } from '../../../src/config/index.js';
import { hostPlatform } from '../../../src/registry/platforms.js';

const SOURCE = 'conf/x.yaml';
const BASE = [
  'upstreams: [{ name: hub, url: "https://registry-1.docker.io" }]',
  'registries:',
  '  ghcr.io: { upstreams: [{ name: gh, url: "https://ghcr.io" }] }',
  'cache: {}',
];
const doc = (...lines: string[]): string => [...BASE, ...lines].join('\n') + '\n';

const parse = (yaml: string): Config => parseConfig(yaml, SOURCE, {});

function problems(yaml: string): string[] {
  try {
    parse(yaml);
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split('\n');
    throw err;
  }
  return [];
}

t.test('images resolve to the registry that serves them; defaults fill the rest', async (t) => {
  const prefetch = parse(doc('prefetch:', '  images: [nginx:1.27, library/redis:7-alpine, ghcr.io/org/app:1.2, docker.io/org/tool]')).prefetch;
  t.same(prefetch, {
    images: [
      { registry: 'docker.io', name: 'library/nginx', reference: '1.27', text: 'docker.io/library/nginx:1.27' },
      { registry: 'docker.io', name: 'library/redis', reference: '7-alpine', text: 'docker.io/library/redis:7-alpine' },
      { registry: 'ghcr.io', name: 'org/app', reference: '1.2', text: 'ghcr.io/org/app:1.2' },
      { registry: 'docker.io', name: 'org/tool', reference: 'latest', text: 'docker.io/org/tool:latest' },
    ],
    platforms: [hostPlatform()],
    everyMs: 6 * 3_600_000,
    delayMs: 30_000,
  });
  t.equal(parse(doc()).prefetch, undefined, 'absent: no prefetch');
});

t.test('platforms, schedule and rate', async (t) => {
  const prefetch = parse(
    doc('prefetch: { images: [nginx], platforms: [linux/amd64, linux/arm64, linux/amd64], every: 30m, delay: 0s, rate: 10MB/s }'),
  ).prefetch;
  t.same(prefetch?.platforms, [
    { os: 'linux', architecture: 'amd64' },
    { os: 'linux', architecture: 'arm64' },
  ]);
  t.equal(prefetch?.everyMs, 1_800_000);
  t.equal(prefetch?.delayMs, 0);
  t.equal(prefetch?.bytesPerSecond, 10_000_000);
});

t.test('each mistake is reported at its key and line', async (t) => {
  t.same(problems(doc('prefetch:', '  every: 1h')), ['conf/x.yaml:6:3 prefetch.images: required key is missing']);
  t.same(problems(doc('prefetch: { images: [] }')), ['conf/x.yaml:5:21 prefetch.images: must list at least one image']);
  t.same(problems(doc('prefetch:', '  images:', '    - nginx:1.27', '    - quay.io/org/app:1', '    - Nginx', '    - 5')), [
    'conf/x.yaml:8:7 prefetch.images[1]: registry quay.io of "quay.io/org/app:1" is not served here; served: docker.io, ghcr.io',
    'conf/x.yaml:9:7 prefetch.images[2]: "Nginx" is not an image reference: "Nginx" is not a repository name (lowercase components joined by "/")',
    'conf/x.yaml:10:7 prefetch.images[3]: must be an image reference such as "nginx:1.27", got 5',
  ]);
  t.same(problems(doc('prefetch:', '  images: [nginx]', '  platforms: [linux/amd64, amd64]', '  every: 0s', '  rate: 50MiB', '  delay: soon', '  evry: 1h')), [
    'conf/x.yaml:7:28 prefetch.platforms[1]: must be a platform such as "linux/amd64" or "linux/arm64/v8", got "amd64"',
    'conf/x.yaml:8:10 prefetch.every: must be a duration > 0 such as "500ms", "30s", "5m" or "1h", got string "0s"',
    'conf/x.yaml:9:9 prefetch.rate: must be a rate such as "50MiB/s" or "10MB/s", got "50MiB"',
    'conf/x.yaml:10:10 prefetch.delay: must be a duration >= 0 such as "500ms", "30s", "5m" or "1h", got string "soon"',
    'conf/x.yaml:11:3 prefetch.evry: unknown key; did you mean "every"?',
  ]);
  t.same(problems(doc('prefetch: { images: [nginx], platforms: [] }')), [
    "conf/x.yaml:5:41 prefetch.platforms: must list at least one platform (leave it out for the host's)",
  ]);
});

t.test('prefetch needs the cache', async (t) => {
  const yaml = ['upstreams: [{ name: hub, url: "https://registry-1.docker.io" }]', 'prefetch: { images: [nginx] }', ''].join('\n');
  t.same(problems(yaml), ['conf/x.yaml:2:1 prefetch: needs "cache": prefetch fills the blob cache, and without one there is nothing to fill']);
});
