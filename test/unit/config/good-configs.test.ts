import { resolve } from 'node:path';
import t from 'tap';
import { parseConfig, type Config, type UpstreamConfig } from '../../../src/config/index.js';

const doc = (...lines: string[]): string => lines.join('\n') + '\n';

const DEFAULT_BREAKER = {
  errorThresholdPercentage: 50,
  volumeThreshold: 10,
  windowMs: 10_000,
  resetTimeoutMs: 30_000,
  quarantineMs: 300_000,
  consecutiveFailures: 3,
  slowCallMs: 5_000,
  slowCallRate: 0.5,
};
const DEFAULT_HEALTH = { path: '/v2/', intervalMs: 10_000, timeoutMs: 2_000, unhealthyAfter: 2, healthyAfter: 2 };
const DEFAULT_BALANCE = { slowStartMs: 30_000, mode: 'static', halfLifeMs: 60_000 };
const DEFAULT_REDIRECTS = { mode: 'follow', allowHosts: [], allowPrivate: false } as const;

/**
 * An upstream as it comes out with nothing but name and url given. `dockerHub`
 * is spelled out by each caller (true for Docker Hub's own URL) rather than
 * recomputed here, so the tests pin the default instead of restating it.
 */
const defaultUpstream = (name: string, url: string, dockerHub: boolean): UpstreamConfig => ({
  name,
  url,
  weight: 1,
  backup: false,
  tls: { insecureSkipVerify: false },
  timeouts: { connectMs: 5_000, headersMs: 10_000, idleMs: 60_000, queueMs: 10_000 },
  maxConnections: 64,
  breaker: DEFAULT_BREAKER,
  redirects: DEFAULT_REDIRECTS,
  health: DEFAULT_HEALTH,
  dockerHub,
});

const parse = (yaml: string, env: Record<string, string | undefined> = {}): Config => parseConfig(yaml, 'conf/test.yaml', env);

t.test('minimal config gets every default', async (t) => {
  const config = parse(doc('upstreams:', '  - name: hub', '    url: https://registry-1.docker.io'));
  const upstreams = [defaultUpstream('hub', 'https://registry-1.docker.io', true)];
  t.strictSame(config, {
    source: 'conf/test.yaml',
    listen: [{ host: '0.0.0.0', port: 5000 }],
    access: undefined,
    upstreams,
    registries: [{ name: 'docker.io', hosts: [], upstreams, balance: DEFAULT_BALANCE }],
    redirects: DEFAULT_REDIRECTS,
    breaker: DEFAULT_BREAKER,
    health: DEFAULT_HEALTH,
    balance: DEFAULT_BALANCE,
    failover: { maxAttempts: 3, on404: true, hedgeAfterMs: 1_000 },
    verifyDigests: true,
    cache: undefined,
    prefetch: undefined,
    workers: 1,
    clientIdleMs: 300_000,
    log: { level: 'info' },
    shutdown: { drainTimeoutMs: 25_000 },
  });
  t.equal(config.registries[0]!.upstreams, config.upstreams, 'docker.io is served by the top-level list itself');
  const u = config.upstreams[0]!;
  t.notOk('ca' in u.tls, 'no ca key when none is configured');
  t.notOk('auth' in u, 'no auth key when none is configured');
  t.notOk('repositoryPrefix' in u, 'no repositoryPrefix key when none is configured');
});

t.test('every key given', async (t) => {
  const config = parse(
    doc(
      'listen: "127.0.0.1:8080"',
      'upstreams:',
      '  - name: hub',
      '    url: https://registry-1.docker.io',
      '    weight: 5',
      '    backup: false',
      '    tls: { insecureSkipVerify: false, ca: /etc/ssl/corp-ca.pem }',
      '    timeouts: { connect: 2s, headers: 1.5m, idle: 500ms, queue: 1500ms }',
      '    maxConnections: 16',
      '    breaker: { errorThresholdPercentage: 25.5, volumeThreshold: 3, window: 1m, resetTimeout: 1h, quarantine: 0s, consecutiveFailures: 0, slowCall: { threshold: 2s, rate: 80% } }',
      '    health: { path: /v2/ping, interval: 5s, timeout: 1s, unhealthyAfter: 3, healthyAfter: 1 }',
      '    auth: { username: mirror-bot, password: "${HUB_TOKEN}" }',
      '    redirects: { mode: passthrough, allowHosts: [Production.Cloudflare.Docker.com], allowPrivate: true }',
      '    dockerHub: false',
      '    repositoryPrefix: proxy/docker-hub',
      '  - name: nexus-2',
      '    url: http://nexus.corp:8081/repository/docker-hub/',
      '    weight: 0',
      '    backup: true',
      '    tls:',
      '      insecureSkipVerify: true',
      '    auth:',
      '      username: nexus',
      '      passwordFile: /run/secrets/nexus',
      '    health: false',
      '    dockerHub: true',
      'authority: { name: hub-tags, url: https://registry-1.docker.io, timeouts: { headers: 5s }, auth: { username: tags-bot, password: "${HUB_TOKEN}" } }',
      'registries:',
      '  ghcr.io:',
      '    hosts: [ghcr-mirror.company.com]',
      '    balance: { slowStart: 0s, mode: static }',
      '    upstreams:',
      '      - { name: ghcr, url: "https://ghcr.io" }',
      '    authority: { name: ghcr-tags, url: "https://ghcr.io" }',
      '  Quay.io:',
      '    hosts: []',
      '    upstreams:',
      '      - { name: quay, url: "https://quay.io", repositoryPrefix: quay.io_cache }',
      'redirects:',
      '  mode: follow',
      '  allowHosts: [cdn.example.com, 10.1.2.3]',
      '  allowPrivate: false',
      'breaker:',
      '  errorThresholdPercentage: 100',
      '  volumeThreshold: 20',
      '  window: 20s',
      '  resetTimeout: 45s',
      '  quarantine: 1m',
      '  consecutiveFailures: 5',
      '  slowCall: { threshold: 3s, rate: 25% }',
      'health: { interval: 30s }',
      'balance: { slowStart: 1m, mode: adaptive, halfLife: 5m }',
      'failover: { maxAttempts: 1, on404: false, hedge: { after: 250ms } }',
      'verifyDigests: false',
      'cache: { dir: /var/cache/mirrorgate, maxSize: 1.5TiB, highWatermark: 95%, lowWatermark: 87.5%, tags: { ttl: 0s, notFoundTtl: 2s, rules: [{ match: "*:latest", ttl: 1m }, { match: "library/*:1.*", ttl: 1h }] }, parallel: { minSize: 64MiB, pieceSize: 16MiB, perMirror: 3 } }',
      `prefetch: { images: [nginx:1.27, "quay.io/org/app@sha256:${'a'.repeat(64)}"], platforms: [linux/amd64, linux/arm64/v8], every: 1h, delay: 0s, rate: 50MiB/s }`,
      'workers: 2',
      'timeouts: { clientIdle: 30s }',
      'log: { level: silent }',
      'shutdown: { drainTimeout: 0s }',
    ),
    { HUB_TOKEN: 'dckr_pat_s3cret' },
  );
  const globalBreaker = {
    errorThresholdPercentage: 100,
    volumeThreshold: 20,
    windowMs: 20_000,
    resetTimeoutMs: 45_000,
    quarantineMs: 60_000,
    consecutiveFailures: 5,
    slowCallMs: 3_000,
    slowCallRate: 0.25,
  };
  const globalHealth = { ...DEFAULT_HEALTH, intervalMs: 30_000 };
  const globalRedirects = { mode: 'follow', allowHosts: ['cdn.example.com', '10.1.2.3'], allowPrivate: false };
  const upstreams = [
    {
      name: 'hub',
      url: 'https://registry-1.docker.io',
      weight: 5,
      backup: false,
      tls: { insecureSkipVerify: false, ca: '/etc/ssl/corp-ca.pem' },
      timeouts: { connectMs: 2_000, headersMs: 90_000, idleMs: 500, queueMs: 1_500 },
      maxConnections: 16,
      breaker: {
        errorThresholdPercentage: 25.5,
        volumeThreshold: 3,
        windowMs: 60_000,
        resetTimeoutMs: 3_600_000,
        quarantineMs: 0,
        consecutiveFailures: 0,
        slowCallMs: 2_000,
        slowCallRate: 0.8,
      },
      auth: { username: 'mirror-bot', password: 'dckr_pat_s3cret' },
      redirects: { mode: 'passthrough', allowHosts: ['production.cloudflare.docker.com'], allowPrivate: true },
      health: { path: '/v2/ping', intervalMs: 5_000, timeoutMs: 1_000, unhealthyAfter: 3, healthyAfter: 1 },
      dockerHub: false,
      repositoryPrefix: 'proxy/docker-hub',
    },
    {
      ...defaultUpstream('nexus-2', 'http://nexus.corp:8081/repository/docker-hub', true),
      weight: 0,
      backup: true,
      tls: { insecureSkipVerify: true },
      breaker: globalBreaker,
      auth: { username: 'nexus', passwordFile: '/run/secrets/nexus' },
      redirects: globalRedirects,
      health: undefined,
    },
  ];
  const hubAuthority = {
    ...defaultUpstream('hub-tags', 'https://registry-1.docker.io', true),
    timeouts: { connectMs: 5_000, headersMs: 5_000, idleMs: 60_000, queueMs: 10_000 },
    breaker: globalBreaker,
    auth: { username: 'tags-bot', password: 'dckr_pat_s3cret' },
    redirects: globalRedirects,
    health: globalHealth,
  };
  const ghcrAuthority = { ...defaultUpstream('ghcr-tags', 'https://ghcr.io', false), breaker: globalBreaker, redirects: globalRedirects, health: globalHealth };
  t.strictSame(config, {
    source: 'conf/test.yaml',
    listen: [{ host: '127.0.0.1', port: 8080 }],
    access: undefined,
    upstreams,
    registries: [
      { name: 'docker.io', hosts: [], upstreams, balance: { slowStartMs: 60_000, mode: 'adaptive', halfLifeMs: 300_000 }, authority: hubAuthority },
      {
        name: 'ghcr.io',
        hosts: ['ghcr-mirror.company.com'],
        upstreams: [{ ...defaultUpstream('ghcr', 'https://ghcr.io', false), breaker: globalBreaker, redirects: globalRedirects, health: globalHealth }],
        balance: { slowStartMs: 0, mode: 'static', halfLifeMs: 300_000 },
        authority: ghcrAuthority,
      },
      {
        name: 'quay.io',
        hosts: [],
        upstreams: [
          {
            ...defaultUpstream('quay', 'https://quay.io', false),
            breaker: globalBreaker,
            redirects: globalRedirects,
            health: globalHealth,
            repositoryPrefix: 'quay.io_cache',
          },
        ],
        balance: { slowStartMs: 60_000, mode: 'adaptive', halfLifeMs: 300_000 },
      },
    ],
    redirects: globalRedirects,
    breaker: globalBreaker,
    health: globalHealth,
    balance: { slowStartMs: 60_000, mode: 'adaptive', halfLifeMs: 300_000 },
    failover: { maxAttempts: 1, on404: false, hedgeAfterMs: 250 },
    verifyDigests: false,
    cache: {
      dir: '/var/cache/mirrorgate',
      maxBytes: 1.5 * 1024 ** 4,
      highWatermark: 0.95,
      lowWatermark: 0.875,
      tagTtlMs: 0,
      tagRules: [
        { match: '*:latest', ttlMs: 60_000 },
        { match: 'library/*:1.*', ttlMs: 3_600_000 },
      ],
      notFoundTtlMs: 2_000,
      parallel: { minSize: 64 * 1024 ** 2, pieceSize: 16 * 1024 ** 2, perMirror: 3 },
    },
    prefetch: {
      images: [
        { registry: 'docker.io', name: 'library/nginx', reference: '1.27', text: 'docker.io/library/nginx:1.27' },
        { registry: 'quay.io', name: 'org/app', reference: `sha256:${'a'.repeat(64)}`, text: `quay.io/org/app@sha256:${'a'.repeat(64)}` },
      ],
      platforms: [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64', variant: 'v8' },
      ],
      everyMs: 3_600_000,
      delayMs: 0,
      bytesPerSecond: 50 * 1024 * 1024,
    },
    workers: 2,
    clientIdleMs: 30_000,
    log: { level: 'silent' },
    shutdown: { drainTimeoutMs: 0 },
  });
});

t.test('cache: false and no cache relay only; a mapping turns it on with defaults, its dir beside the config file', async (t) => {
  const base = doc('upstreams:', '  - { name: a, url: "https://a.example" }');
  t.equal(parse(base).cache, undefined);
  t.equal(parse(`${base}cache: false\n`).cache, undefined);
  t.same(parse(`${base}cache: {}\n`).cache, {
    dir: resolve('conf/data/cache'),
    maxBytes: 10 * 1024 ** 3,
    highWatermark: 0.9,
    lowWatermark: 0.8,
    tagTtlMs: 60_000,
    tagRules: [],
    notFoundTtlMs: 15_000,
    parallel: { minSize: 32 * 1024 ** 2, pieceSize: 8 * 1024 ** 2, perMirror: 2 },
  });
  t.equal(parse(`${base}cache: { parallel: false }\n`).cache?.parallel, undefined, 'parallel: false fetches from one mirror');
  t.same(parse(`${base}cache: { dir: ../data/cache, maxSize: 512MiB }\n`).cache, {
    dir: resolve('data/cache'),
    maxBytes: 512 * 1024 ** 2,
    highWatermark: 0.9,
    lowWatermark: 0.8,
    tagTtlMs: 60_000,
    tagRules: [],
    notFoundTtlMs: 15_000,
    parallel: { minSize: 32 * 1024 ** 2, pieceSize: 8 * 1024 ** 2, perMirror: 2 },
  });
});

t.test('per-upstream breaker override is merged with the global breaker', async (t) => {
  const config = parse(
    doc(
      'breaker: { volumeThreshold: 4, window: 5s }',
      'upstreams:',
      '  - name: flaky',
      '    url: https://flaky.example',
      '    breaker:',
      '      window: 1m',
      '      errorThresholdPercentage: 10',
      '  - name: steady',
      '    url: https://steady.example',
    ),
  );
  t.strictSame(config.breaker, { ...DEFAULT_BREAKER, volumeThreshold: 4, windowMs: 5_000 });
  t.strictSame(config.upstreams[0]!.breaker, {
    errorThresholdPercentage: 10, // override
    volumeThreshold: 4, // global
    windowMs: 60_000, // override
    resetTimeoutMs: 30_000, // default via global
    quarantineMs: 300_000, // default via global
    consecutiveFailures: 3,
    slowCallMs: 5_000,
    slowCallRate: 0.5,
  });
  t.strictSame(config.upstreams[1]!.breaker, config.breaker);
});

t.test('per-upstream redirects override is merged with the global redirects', async (t) => {
  const config = parse(
    doc(
      'redirects:',
      '  allowHosts: [CDN.Example.com]',
      '  allowPrivate: true',
      'upstreams:',
      '  - name: hub',
      '    url: https://registry-1.docker.io',
      '    redirects: { mode: passthrough }',
      '  - name: internal',
      '    url: https://registry.corp',
      '    redirects:',
      '      allowHosts: [blobs.corp, BLOBS-2.corp]',
      '  - name: plain',
      '    url: https://plain.example',
      'registries:',
      '  ghcr.io:',
      '    upstreams:',
      '      - name: ghcr',
      '        url: https://ghcr.io',
      '        redirects: { allowPrivate: false }',
    ),
  );
  t.strictSame(config.redirects, { mode: 'follow', allowHosts: ['cdn.example.com'], allowPrivate: true }, 'global, hosts lowercased');
  t.strictSame(config.upstreams[0]!.redirects, { mode: 'passthrough', allowHosts: ['cdn.example.com'], allowPrivate: true });
  t.strictSame(
    config.upstreams[1]!.redirects,
    { mode: 'follow', allowHosts: ['blobs.corp', 'blobs-2.corp'], allowPrivate: true },
    'an upstream allowHosts list replaces the global one',
  );
  t.strictSame(config.upstreams[2]!.redirects, config.redirects);
  t.strictSame(config.registries[1]!.upstreams[0]!.redirects, { mode: 'follow', allowHosts: ['cdn.example.com'], allowPrivate: false });
});

t.test('dockerHub defaults to true only for Docker Hub URLs', async (t) => {
  const cases: [string, boolean][] = [
    ['https://registry-1.docker.io', true],
    ['https://Registry-1.Docker.IO:443/', true],
    ['https://docker.io', true],
    ['https://index.docker.io', true],
    ['https://mirror.gcr.io', false],
    ['https://public.ecr.aws', false],
    ['https://registry-1.docker.io.evil.example', false],
    ['http://nexus.corp:8081/repository/docker-hub', false],
  ];
  for (const [url, dockerHub] of cases) {
    const config = parse(doc('upstreams:', '  - name: m', `    url: "${url}"`));
    t.equal(config.upstreams[0]!.dockerHub, dockerHub, url);
  }
  const explicit = parse(
    doc(
      'upstreams:',
      '  - { name: hub, url: "https://registry-1.docker.io", dockerHub: false }',
      '  - { name: nexus, url: "https://nexus.corp/repository/hub", dockerHub: true }',
    ),
  );
  t.strictSame(
    explicit.upstreams.map((u) => u.dockerHub),
    [false, true],
    'an explicit value wins',
  );
});

t.test('registries: file order after docker.io, names and hosts lowercased, global defaults merged', async (t) => {
  const config = parse(
    doc(
      'breaker: { volumeThreshold: 7 }',
      'upstreams:',
      '  - name: hub',
      '    url: https://registry-1.docker.io',
      'registries:',
      '  quay.io:',
      '    hosts: [Quay-Mirror.Company.com, quay.mirror.internal]',
      '    upstreams:',
      '      - { name: quay, url: "https://quay.io", weight: 0 }',
      '      - { name: quay-cache, url: "https://quay-cache.corp", weight: 2, breaker: { window: 1m } }',
      '  GHCR.io:',
      '    upstreams:',
      '      - name: ghcr',
      '        url: https://ghcr.io',
      '  registry.corp:5000:',
      '    hosts: [registry-mirror.corp]',
      '    upstreams:',
      '      - { name: corp, url: "http://registry.corp:5000" }',
      '  public.ecr.aws:',
      '    upstreams:',
      '      - { name: ecr-hub, url: "https://public.ecr.aws", repositoryPrefix: docker/library, dockerHub: false }',
    ),
  );
  const breaker = { ...DEFAULT_BREAKER, volumeThreshold: 7 };
  t.strictSame(
    config.registries.map((r) => [r.name, r.hosts, r.upstreams.map((u) => u.name)]),
    [
      ['docker.io', [], ['hub']],
      ['quay.io', ['quay-mirror.company.com', 'quay.mirror.internal'], ['quay', 'quay-cache']],
      ['ghcr.io', [], ['ghcr']],
      ['registry.corp:5000', ['registry-mirror.corp'], ['corp']],
      ['public.ecr.aws', [], ['ecr-hub']],
    ],
  );
  t.strictSame(
    config.upstreams.map((u) => u.name),
    ['hub'],
    'upstreams stays the top-level list',
  );
  t.strictSame(config.registries[1]!.upstreams[0], { ...defaultUpstream('quay', 'https://quay.io', false), weight: 0, breaker });
  t.strictSame(config.registries[1]!.upstreams[1]!.breaker, { ...breaker, windowMs: 60_000 });
  t.strictSame(config.registries[2]!.upstreams[0], { ...defaultUpstream('ghcr', 'https://ghcr.io', false), breaker });
  t.strictSame(config.registries[4]!.upstreams[0], {
    ...defaultUpstream('ecr-hub', 'https://public.ecr.aws', false),
    breaker,
    repositoryPrefix: 'docker/library',
  });
});

t.test('auth forms', async (t) => {
  const config = parse(
    doc(
      'upstreams:',
      '  - name: hub',
      '    url: https://registry-1.docker.io',
      '    auth:',
      '      username: ${HUB_USER}',
      '      password: ${HUB_TOKEN}',
      '  - name: nexus',
      '    url: https://nexus.corp',
      '    auth: { username: bot, passwordFile: /run/secrets/nexus }',
      '  - name: literal',
      '    url: https://literal.example',
      '    auth: { username: bot, password: "p$a$$w0rd $${NOT_A_VAR}" }',
    ),
    { HUB_USER: 'alice', HUB_TOKEN: 'dckr_pat_abc' },
  );
  t.strictSame(
    config.upstreams.map((u) => u.auth),
    [
      { username: 'alice', password: 'dckr_pat_abc' },
      { username: 'bot', passwordFile: '/run/secrets/nexus' },
      { username: 'bot', password: 'p$a$$w0rd ${NOT_A_VAR}' },
    ],
  );
  t.notOk('passwordFile' in config.upstreams[0]!.auth!);
  t.notOk('password' in config.upstreams[1]!.auth!);
});

t.test('${VAR} substitution', async (t) => {
  const env = { HUB_HOST: 'registry-1.docker.io', CA_DIR: '/etc/ssl', LISTEN: '[::]:5001', EMPTY: '' };
  const config = parse(
    doc(
      'listen: ${LISTEN}',
      'upstreams:',
      '  - name: hub${EMPTY}',
      '    url: "https://${HUB_HOST}/"',
      '    tls:',
      '      ca: ${CA_DIR}/ca.pem',
      '  - name: literal',
      '    url: https://literal.example',
      '    tls:',
      '      ca: /certs/$${NOT_A_VAR}/ca.pem',
    ),
    env,
  );
  t.strictSame(config.listen, [{ host: '::', port: 5001 }]);
  t.equal(config.upstreams[0]!.name, 'hub');
  t.equal(config.upstreams[0]!.url, 'https://registry-1.docker.io');
  t.equal(config.upstreams[0]!.tls.ca, '/etc/ssl/ca.pem');
  t.equal(config.upstreams[1]!.tls.ca, '/certs/${NOT_A_VAR}/ca.pem', '$${ escapes');
});

t.test('relative tls.ca and auth.passwordFile are resolved against the config file directory', async (t) => {
  const yaml = doc(
    'upstreams:',
    '  - name: hub',
    '    url: https://registry-1.docker.io',
    '    tls: { ca: certs/corp-ca.pem }',
    '    auth: { username: bot, passwordFile: ../secrets/hub }',
    '  - name: abs',
    '    url: https://abs.example',
    '    tls: { ca: /etc/ssl//corp-ca.pem }',
    '    auth: { username: bot, passwordFile: "./${SECRET_NAME}" }',
    'registries:',
    '  ghcr.io:',
    '    upstreams:',
    '      - { name: ghcr, url: "https://ghcr.io", tls: { ca: ./ghcr-ca.pem } }',
  );
  const config = parseConfig(yaml, '/etc/mirrorgate/mirrorgate.yaml', { SECRET_NAME: 'abs.token' });
  t.strictSame(config.upstreams[0]!.tls, { insecureSkipVerify: false, ca: '/etc/mirrorgate/certs/corp-ca.pem' });
  t.strictSame(config.upstreams[0]!.auth, { username: 'bot', passwordFile: '/etc/secrets/hub' });
  t.equal(config.upstreams[1]!.tls.ca, '/etc/ssl//corp-ca.pem', 'an absolute path is kept as written');
  t.equal(config.upstreams[1]!.auth!.passwordFile, '/etc/mirrorgate/abs.token', 'resolved after ${VAR} substitution');
  t.equal(config.registries[1]!.upstreams[0]!.tls.ca, '/etc/mirrorgate/ghcr-ca.pem');
  // The other tests use the relative source conf/test.yaml: its directory is taken from the working directory.
  const relative = parse(yaml, { SECRET_NAME: 'abs.token' });
  t.equal(relative.upstreams[0]!.tls.ca, resolve('conf', 'certs', 'corp-ca.pem'));
  t.equal(relative.upstreams[0]!.auth!.passwordFile, resolve('secrets', 'hub'));
});

t.test('URL normalisation', async (t) => {
  const cases: [string, string][] = [
    ['https://registry-1.docker.io', 'https://registry-1.docker.io'],
    ['https://registry-1.docker.io/', 'https://registry-1.docker.io'],
    ['HTTPS://Mirror.GCR.io//', 'https://mirror.gcr.io'],
    ['https://nexus.corp/repository/docker-hub', 'https://nexus.corp/repository/docker-hub'],
    ['https://nexus.corp/repository/docker-hub/', 'https://nexus.corp/repository/docker-hub'],
    ['https://nexus.corp:443/repository/hub', 'https://nexus.corp/repository/hub'],
    ['http://nexus.corp:80/', 'http://nexus.corp'],
    ['http://10.0.0.5:8081/base', 'http://10.0.0.5:8081/base'],
    ['http://[fd00::5]:8081', 'http://[fd00::5]:8081'],
    ['https://mirror.example/v2-cache', 'https://mirror.example/v2-cache'],
  ];
  for (const [input, normalised] of cases) {
    const config = parse(doc('upstreams:', '  - name: m', `    url: "${input}"`));
    t.equal(config.upstreams[0]!.url, normalised, input);
  }
});

t.test('listen forms', async (t) => {
  const cases: [string, { host: string; port: number }][] = [
    ['0.0.0.0:5000', { host: '0.0.0.0', port: 5000 }],
    ['[::]:5000', { host: '::', port: 5000 }],
    ['[::1]:0', { host: '::1', port: 0 }],
    ['localhost:65535', { host: 'localhost', port: 65535 }],
    ['gateway.internal:80', { host: 'gateway.internal', port: 80 }],
  ];
  for (const [listen, expected] of cases) {
    const config = parse(doc(`listen: "${listen}"`, 'upstreams:', '  - { name: a, url: "http://a" }'));
    t.strictSame(config.listen, [expected], listen);
  }
});

t.test('empty sections mean all defaults', async (t) => {
  const config = parse(
    doc(
      'upstreams:',
      '  - name: hub',
      '    url: https://registry-1.docker.io',
      '    tls:',
      '    #  ca: /etc/ssl/ca.pem',
      '    redirects:',
      '    auth:',
      '    #  username: bot',
      'breaker:',
      '#  window: 5s',
      'log:',
      'redirects:',
      'registries:',
      '#  ghcr.io:',
    ),
  );
  t.strictSame(config.upstreams[0], defaultUpstream('hub', 'https://registry-1.docker.io', true), 'an empty auth: means no auth');
  t.strictSame(config.breaker, DEFAULT_BREAKER);
  t.strictSame(config.redirects, DEFAULT_REDIRECTS);
  t.equal(config.log.level, 'info');
  t.strictSame(
    config.registries.map((r) => r.name),
    ['docker.io'],
  );
});

t.test('anchors and aliases', async (t) => {
  const config = parse(
    doc(
      'upstreams:',
      '  - name: a',
      '    url: https://a.example',
      '    timeouts: &fast { connect: 1s, headers: 2s, idle: 3s }',
      '  - name: b',
      '    url: https://b.example',
      '    timeouts: *fast',
    ),
  );
  t.strictSame(config.upstreams[1]!.timeouts, { connectMs: 1_000, headersMs: 2_000, idleMs: 3_000, queueMs: 10_000 });
});

t.test('traffic rule: one weighted non-backup upstream is enough', async (t) => {
  const config = parse(
    doc(
      'upstreams:',
      '  - { name: drained, url: "https://a", weight: 0 }',
      '  - { name: live, url: "https://b", weight: 2 }',
      '  - { name: spare, url: "https://c", backup: true }',
    ),
  );
  t.strictSame(
    config.upstreams.map((u) => [u.name, u.weight, u.backup]),
    [
      ['drained', 0, false],
      ['live', 2, false],
      ['spare', 1, true],
    ],
  );
});

t.test('a UTF-8 byte order mark is ignored', async (t) => {
  const config = parse('\uFEFF' + doc('upstreams:', '  - { name: a, url: "https://a" }'));
  t.equal(config.upstreams[0]!.name, 'a');
});

t.test('the result is deeply frozen', async (t) => {
  const config = parse(
    doc(
      'upstreams:',
      '  - name: hub',
      '    url: https://registry-1.docker.io',
      '    tls: { ca: /ca.pem }',
      '    auth: { username: u, passwordFile: /p }',
      'registries:',
      '  ghcr.io:',
      '    hosts: [ghcr.mirror]',
      '    upstreams: [{ name: ghcr, url: "https://ghcr.io" }]',
    ),
  );
  const u = config.upstreams[0]!;
  const ghcr = config.registries[1]!;
  for (const [what, obj] of Object.entries({
    config,
    listen: config.listen,
    upstreams: config.upstreams,
    upstream: u,
    tls: u.tls,
    timeouts: u.timeouts,
    upstreamBreaker: u.breaker,
    auth: u.auth,
    upstreamRedirects: u.redirects,
    upstreamAllowHosts: u.redirects.allowHosts,
    registries: config.registries,
    registry: ghcr,
    registryHosts: ghcr.hosts,
    registryUpstreams: ghcr.upstreams,
    registryUpstream: ghcr.upstreams[0],
    redirects: config.redirects,
    allowHosts: config.redirects.allowHosts,
    breaker: config.breaker,
    failover: config.failover,
    log: config.log,
    shutdown: config.shutdown,
  })) {
    t.ok(Object.isFrozen(obj), `${what} is frozen`);
  }
  t.throws(() => {
    (u as { weight: number }).weight = 9;
  }, TypeError);
  t.throws(() => {
    (config.upstreams as UpstreamConfig[]).push(u);
  }, TypeError);
  t.equal(u.weight, 1);
});

t.test('parseConfig does not touch process.env', async (t) => {
  process.env.MIRRORGATE_TEST_ONLY_VAR = 'from-process-env';
  t.teardown(() => {
    delete process.env.MIRRORGATE_TEST_ONLY_VAR;
  });
  t.throws(() => parse(doc('upstreams:', '  - { name: a, url: "https://${MIRRORGATE_TEST_ONLY_VAR}" }')), {
    code: 'CONFIG_INVALID',
    message: 'conf/test.yaml:2:21 upstreams[0].url: environment variable MIRRORGATE_TEST_ONLY_VAR is not set',
  });
});
