/**
 * Every invalid document must produce the exact formatted problem lines,
 * positions included — the message is the user interface of the validator.
 */
import t from 'tap';
import { ConfigError, formatProblems, parseConfig } from '../../../src/config/index.js';

const SOURCE = 'conf/x.yaml';
const doc = (...lines: string[]): string => lines.join('\n') + '\n';

/** A valid first upstream (lines 1-3) that the cases below extend. */
const HUB = ['upstreams:', '  - name: hub', '    url: https://registry-1.docker.io'];

interface Case {
  readonly name: string;
  readonly yaml: string;
  readonly env?: Record<string, string | undefined>;
  readonly expected: readonly string[];
  /** A password that must not appear anywhere in the message. */
  readonly secret?: string;
}

const cases: Case[] = [
  // --- malformed YAML and document shape ---
  {
    name: 'unclosed flow sequence',
    yaml: doc('upstreams: [', '  { name: hub, url: "https://a" }', 'listen: x'),
    expected: ['conf/x.yaml:3:1 Flow sequence in block collection must be sufficiently indented and end with a ]'],
  },
  {
    name: 'unclosed quote',
    yaml: doc(...HUB, '    weight: "5'),
    expected: ['conf/x.yaml:5:1 Missing closing "quote'],
  },
  {
    name: 'tab indentation',
    yaml: doc('upstreams:', '\t- name: hub'),
    expected: ['conf/x.yaml:2:1 Tabs are not allowed as indentation'],
  },
  {
    name: 'several documents',
    yaml: doc(...HUB, '---', 'listen: "0.0.0.0:1"'),
    expected: ['conf/x.yaml:4:1 Source contains multiple documents; please use YAML.parseAllDocuments()'],
  },
  {
    name: 'alias without anchor',
    yaml: doc('upstreams: *hubs'),
    expected: ['conf/x.yaml:1:12 alias "*hubs" has no matching anchor'],
  },
  {
    name: 'empty file',
    yaml: '',
    expected: ['conf/x.yaml:1:1 the file is empty; expected a mapping with at least an "upstreams" list'],
  },
  {
    name: 'comments only',
    yaml: doc('# nothing here yet', '# upstreams:'),
    expected: ['conf/x.yaml:1:1 the file is empty; expected a mapping with at least an "upstreams" list'],
  },
  {
    name: 'root is a sequence',
    yaml: doc('- name: hub', '  url: https://a'),
    expected: ['conf/x.yaml:1:1 the top level must be a mapping, got a sequence'],
  },
  {
    name: 'root is a scalar',
    yaml: doc('upstreams'),
    expected: ['conf/x.yaml:1:1 the top level must be a mapping, got string "upstreams"'],
  },

  // --- upstreams list ---
  {
    name: 'missing upstreams',
    yaml: doc('listen: "0.0.0.0:5000"', 'log:', '  level: debug'),
    expected: ['conf/x.yaml:1:1 upstreams: required key is missing'],
  },
  {
    name: 'empty upstreams',
    yaml: doc('upstreams: []'),
    expected: ['conf/x.yaml:1:12 upstreams: must be a non-empty sequence of upstreams, got an empty sequence'],
  },
  {
    name: 'upstreams without value',
    yaml: doc('listen: "0.0.0.0:5000"', 'upstreams:'),
    expected: ['conf/x.yaml:2:11 upstreams: must be a non-empty sequence of upstreams, got null'],
  },
  {
    name: 'upstreams as a mapping',
    yaml: doc('upstreams:', '  hub:', '    url: https://a'),
    expected: ['conf/x.yaml:2:3 upstreams: must be a non-empty sequence of upstreams, got a mapping'],
  },
  {
    name: 'upstream entry that is not a mapping',
    yaml: doc(...HUB, '  - https://mirror.gcr.io'),
    expected: ['conf/x.yaml:4:5 upstreams[1]: must be a mapping, got string "https://mirror.gcr.io"'],
  },
  {
    name: 'missing name and url are reported at the entry',
    yaml: doc(...HUB, '  - weight: 2', '    backup: true'),
    expected: ['conf/x.yaml:4:5 upstreams[1].name: required key is missing', 'conf/x.yaml:4:5 upstreams[1].url: required key is missing'],
  },
  {
    name: 'all weights 0',
    yaml: doc(...HUB, '    weight: 0', '  - name: gcr', '    url: https://mirror.gcr.io', '    weight: 0'),
    expected: ['conf/x.yaml:2:3 upstreams: at least one non-backup upstream needs weight > 0'],
  },
  {
    name: 'weight 0 plus a backup only',
    yaml: doc(...HUB, '    weight: 0', '  - name: gcr', '    url: https://mirror.gcr.io', '    backup: true'),
    expected: ['conf/x.yaml:2:3 upstreams: at least one non-backup upstream needs weight > 0'],
  },
  {
    name: 'backups only',
    yaml: doc('upstreams:', '  - { name: a, url: "https://a", backup: true, weight: 3 }'),
    expected: ['conf/x.yaml:2:3 upstreams: at least one non-backup upstream needs weight > 0'],
  },

  // --- per-upstream values ---
  {
    name: 'negative weight',
    yaml: doc(...HUB, '    weight: -2'),
    expected: ['conf/x.yaml:4:13 upstreams[0].weight: must be an integer >= 0, got -2'],
  },
  {
    name: 'float weight',
    yaml: doc(...HUB, '    weight: 1.5'),
    expected: ['conf/x.yaml:4:13 upstreams[0].weight: must be an integer >= 0, got 1.5'],
  },
  {
    name: 'quoted number weight is a string',
    yaml: doc(...HUB, '    weight: "5"'),
    expected: ['conf/x.yaml:4:13 upstreams[0].weight: must be an integer >= 0, got string "5"'],
  },
  {
    name: 'word weight',
    yaml: doc(...HUB, '    weight: five'),
    expected: ['conf/x.yaml:4:13 upstreams[0].weight: must be an integer >= 0, got string "five"'],
  },
  {
    name: 'weight from the environment is still a string',
    yaml: doc(...HUB, '    weight: ${HUB_WEIGHT}'),
    env: { HUB_WEIGHT: '5' },
    expected: ['conf/x.yaml:4:13 upstreams[0].weight: must be an integer >= 0, got string "5"'],
  },
  {
    name: 'empty weight',
    yaml: doc(...HUB, '    weight:'),
    expected: ['conf/x.yaml:4:12 upstreams[0].weight: must be an integer >= 0, got null'],
  },
  {
    name: 'backup is not a boolean (YAML 1.2: "yes" is a string)',
    yaml: doc(...HUB, '    backup: yes'),
    expected: ['conf/x.yaml:4:13 upstreams[0].backup: must be true or false, got string "yes"'],
  },
  {
    name: 'duplicate upstream names',
    yaml: doc(...HUB, '  - name: gcr', '    url: https://mirror.gcr.io', '  - name: hub', '    url: https://hub.corp'),
    expected: ['conf/x.yaml:6:11 upstreams[2].name: duplicate upstream name "hub"; first used at line 2'],
  },
  {
    name: 'name with uppercase',
    yaml: doc('upstreams:', '  - name: DockerHub', '    url: https://registry-1.docker.io'),
    expected: ['conf/x.yaml:2:11 upstreams[0].name: must be a name of lowercase letters, digits and "-", got string "DockerHub"'],
  },
  {
    name: 'name with underscore',
    yaml: doc('upstreams:', '  - name: docker_hub', '    url: https://registry-1.docker.io'),
    expected: ['conf/x.yaml:2:11 upstreams[0].name: must be a name of lowercase letters, digits and "-", got string "docker_hub"'],
  },
  {
    name: 'name longer than 64 characters (it is in every metric series and log line)',
    yaml: doc('upstreams:', `  - name: ${'a'.repeat(65)}`, '    url: https://registry-1.docker.io'),
    expected: ['conf/x.yaml:2:11 upstreams[0].name: must be at most 64 characters, got 65'],
  },
  {
    name: 'maxConnections 0',
    yaml: doc(...HUB, '    maxConnections: 0'),
    expected: ['conf/x.yaml:4:21 upstreams[0].maxConnections: must be an integer >= 1, got 0'],
  },
  {
    name: 'tls is not a mapping',
    yaml: doc(...HUB, '    tls: true'),
    expected: ['conf/x.yaml:4:10 upstreams[0].tls: must be a mapping, got true'],
  },
  {
    name: 'empty ca and non-boolean insecureSkipVerify',
    yaml: doc(...HUB, '    tls:', '      insecureSkipVerify: "false"', '      ca: ""'),
    expected: [
      'conf/x.yaml:5:27 upstreams[0].tls.insecureSkipVerify: must be true or false, got string "false"',
      'conf/x.yaml:6:11 upstreams[0].tls.ca: must be a non-empty string, got string ""',
    ],
  },

  // --- URLs ---
  {
    name: 'ftp URL',
    yaml: doc('upstreams:', '  - name: hub', '    url: ftp://mirror.example'),
    expected: ['conf/x.yaml:3:10 upstreams[0].url: must be an http:// or https:// URL, got string "ftp://mirror.example"'],
  },
  {
    name: 'URL ending in /v2',
    yaml: doc('upstreams:', '  - name: hub', '    url: https://registry-1.docker.io/v2'),
    expected: ['conf/x.yaml:3:10 upstreams[0].url: must not end with "/v2": the gateway appends /v2 itself; use "https://registry-1.docker.io"'],
  },
  {
    name: 'URL with base path ending in /v2/',
    yaml: doc('upstreams:', '  - name: nexus', '    url: "https://nexus.corp/repository/hub/v2/"'),
    expected: ['conf/x.yaml:3:10 upstreams[0].url: must not end with "/v2": the gateway appends /v2 itself; use "https://nexus.corp/repository/hub"'],
  },
  {
    name: 'URL with credentials (value not echoed)',
    yaml: doc('upstreams:', '  - name: hub', '    url: https://bob:${HUB_TOKEN}@registry-1.docker.io'),
    env: { HUB_TOKEN: 's3cret' },
    expected: ['conf/x.yaml:3:10 upstreams[0].url: must not contain credentials (user:password@); configure registry auth elsewhere'],
  },
  {
    name: 'URL with query string',
    yaml: doc('upstreams:', '  - name: hub', '    url: "https://mirror.example/?ns=docker.io"'),
    expected: ['conf/x.yaml:3:10 upstreams[0].url: must not have a query string or fragment, got string "https://mirror.example/?ns=docker.io"'],
  },
  {
    name: 'relative URL',
    yaml: doc('upstreams:', '  - name: hub', '    url: registry-1.docker.io'),
    expected: ['conf/x.yaml:3:10 upstreams[0].url: must be an absolute http:// or https:// URL, got string "registry-1.docker.io"'],
  },
  {
    name: 'unset ${VAR}',
    yaml: doc('upstreams:', '  - name: hub', '    url: https://${HUB_HOST}'),
    env: { HUB_HOST: undefined },
    expected: ['conf/x.yaml:3:10 upstreams[0].url: environment variable HUB_HOST is not set'],
  },

  // --- durations ---
  {
    name: 'duration written in words',
    yaml: doc(...HUB, '    timeouts:', '      connect: 5 seconds'),
    expected: ['conf/x.yaml:5:16 upstreams[0].timeouts.connect: must be a duration > 0 such as "500ms", "30s", "5m" or "1h", got string "5 seconds"'],
  },
  {
    name: 'negative duration',
    yaml: doc(...HUB, '    timeouts: { headers: -1s }'),
    expected: ['conf/x.yaml:4:26 upstreams[0].timeouts.headers: must be a duration > 0 such as "500ms", "30s", "5m" or "1h", got string "-1s"'],
  },
  {
    name: 'duration without unit',
    yaml: doc(...HUB, 'breaker:', '  window: 10'),
    expected: ['conf/x.yaml:5:11 breaker.window: must be a duration > 0 such as "500ms", "30s", "5m" or "1h", got 10'],
  },
  {
    name: 'zero duration where > 0 is required',
    yaml: doc(...HUB, '    timeouts:', '      idle: 0s'),
    expected: ['conf/x.yaml:5:13 upstreams[0].timeouts.idle: must be a duration > 0 such as "500ms", "30s", "5m" or "1h", got string "0s"'],
  },
  {
    name: 'negative drain timeout',
    yaml: doc(...HUB, 'shutdown:', '  drainTimeout: -1s'),
    expected: ['conf/x.yaml:5:17 shutdown.drainTimeout: must be a duration >= 0 such as "500ms", "30s", "5m" or "1h", got string "-1s"'],
  },
  {
    name: 'duration too long for a Node timer',
    yaml: doc(...HUB, 'breaker:', '  resetTimeout: 1000h'),
    expected: ['conf/x.yaml:5:17 breaker.resetTimeout: must be at most 2147483647ms (about 24.8 days; Node timers overflow beyond that), got string "1000h"'],
  },

  // --- other sections ---
  {
    name: 'listen without host',
    yaml: doc('listen: "5000"', ...HUB),
    expected: ['conf/x.yaml:1:9 listen: must be a "host:port" string such as "0.0.0.0:5000" or "[::]:5000", got string "5000"'],
  },
  {
    name: 'listen as a number',
    yaml: doc('listen: 5000', ...HUB),
    expected: [
      'conf/x.yaml:1:9 listen: must be a "host:port" string such as "0.0.0.0:5000" or "[::]:5000", a mapping with "address" and "tls", or a list of them, got 5000',
    ],
  },
  {
    name: 'listen port out of range',
    yaml: doc('listen: "0.0.0.0:65536"', ...HUB),
    expected: ['conf/x.yaml:1:9 listen: port must be an integer from 0 to 65535, got "65536"'],
  },
  {
    name: 'listen with unbracketed IPv6',
    yaml: doc('listen: ":::5000"', ...HUB),
    expected: ['conf/x.yaml:1:9 listen: an IPv6 host must be in brackets, e.g. "[::]:5000", got string ":::5000"'],
  },
  {
    name: 'listen with a bad IPv4 address',
    yaml: doc('listen: "300.1.1.1:5000"', ...HUB),
    expected: ['conf/x.yaml:1:9 listen: host "300.1.1.1" is not an IP address or hostname'],
  },
  {
    name: 'bad log level',
    yaml: doc(...HUB, 'log:', '  level: verbose'),
    expected: ['conf/x.yaml:5:10 log.level: must be one of fatal, error, warn, info, debug, trace, silent, got string "verbose"'],
  },
  {
    name: 'breaker thresholds out of range',
    yaml: doc(...HUB, 'breaker:', '  errorThresholdPercentage: 0', '  volumeThreshold: 0.5'),
    expected: [
      'conf/x.yaml:5:29 breaker.errorThresholdPercentage: must be a number from 1 to 100, got 0',
      'conf/x.yaml:6:20 breaker.volumeThreshold: must be an integer >= 1, got 0.5',
    ],
  },
  {
    name: 'failover values',
    yaml: doc(...HUB, 'failover: { maxAttempts: 0, on404: "no" }'),
    expected: [
      'conf/x.yaml:4:26 failover.maxAttempts: must be an integer >= 1, got 0',
      'conf/x.yaml:4:36 failover.on404: must be true or false, got string "no"',
    ],
  },
  {
    name: 'section that is not a mapping',
    yaml: doc(...HUB, 'log: debug'),
    expected: ['conf/x.yaml:4:6 log: must be a mapping, got string "debug"'],
  },

  // --- keys ---
  {
    name: 'unknown key with a typo hint',
    yaml: doc(...HUB, '    wieght: 3'),
    expected: ['conf/x.yaml:4:5 upstreams[0].wieght: unknown key; did you mean "weight"?'],
  },
  {
    name: 'unknown key with a case hint',
    yaml: doc(...HUB, '    MAXCONNECTIONS: 3'),
    expected: ['conf/x.yaml:4:5 upstreams[0].MAXCONNECTIONS: unknown key; did you mean "maxConnections"?'],
  },
  {
    name: 'unknown key in an upstream breaker override',
    yaml: doc(...HUB, '    breaker:', '      resetTimout: 5s'),
    expected: ['conf/x.yaml:5:7 upstreams[0].breaker.resetTimout: unknown key; did you mean "resetTimeout"?'],
  },
  {
    name: 'unknown key without a close match',
    yaml: doc(...HUB, 'metrics:', '  port: 9090'),
    expected: [
      'conf/x.yaml:4:1 metrics: unknown key; expected one of listen, access, upstreams, authority, registries, redirects, breaker, health, balance, failover, verifyDigests, cache, prefetch, workers, timeouts, log, shutdown',
    ],
  },
  {
    name: 'duplicate YAML key',
    yaml: doc(...HUB, '    weight: 2', '    weight: 3'),
    expected: ['conf/x.yaml:5:5 upstreams[0].weight: duplicate key; first defined at line 4'],
  },
  {
    name: 'a merge key brings in a value that is checked like one written there',
    yaml: doc('upstreams:', '  - <<: { url: "https://a", weight: -1 }', '    name: hub'),
    expected: ['conf/x.yaml:2:37 upstreams[0].weight: must be an integer >= 0, got -1'],
  },

  // --- redirects ---
  {
    name: 'bad redirect mode',
    yaml: doc(...HUB, 'redirects:', '  mode: proxy'),
    expected: ['conf/x.yaml:5:9 redirects.mode: must be one of follow, passthrough, got string "proxy"'],
  },
  {
    name: 'bad redirect values in an upstream override',
    yaml: doc(...HUB, '    redirects: { mode: Follow, allowPrivate: 1 }'),
    expected: [
      'conf/x.yaml:4:24 upstreams[0].redirects.mode: must be one of follow, passthrough, got string "Follow"',
      'conf/x.yaml:4:46 upstreams[0].redirects.allowPrivate: must be true or false, got 1',
    ],
  },
  {
    name: 'allowHosts is not a list',
    yaml: doc(...HUB, 'redirects:', '  allowHosts: cdn.example.com'),
    expected: ['conf/x.yaml:5:15 redirects.allowHosts: must be a sequence of host names, got string "cdn.example.com"'],
  },
  {
    name: 'allowHosts with a URL and a port in it',
    yaml: doc(
      ...HUB,
      '    redirects:',
      '      allowHosts:',
      '        - cdn.example.com',
      '        - https://CDN2.example.com/blobs',
      '        - cdn3.example.com:443',
    ),
    expected: [
      'conf/x.yaml:7:11 upstreams[0].redirects.allowHosts[1]: must be a host name without scheme, port or path, got string "https://CDN2.example.com/blobs"; did you mean "cdn2.example.com"?',
      'conf/x.yaml:8:11 upstreams[0].redirects.allowHosts[2]: must be a host name without scheme, port or path, got string "cdn3.example.com:443"',
    ],
  },
  {
    name: 'unknown key in redirects',
    yaml: doc(...HUB, 'redirects:', '  allowedHosts: [cdn.example.com]'),
    expected: ['conf/x.yaml:5:3 redirects.allowedHosts: unknown key; did you mean "allowHosts"?'],
  },

  // --- auth (the password must never be echoed) ---
  {
    name: 'both password and passwordFile',
    yaml: doc(...HUB, '    auth:', '      username: bot', '      password: ${HUB_TOKEN}', '      passwordFile: /run/secrets/hub'),
    env: { HUB_TOKEN: 'dckr_pat_s3cret' },
    secret: 'dckr_pat_s3cret',
    expected: ['conf/x.yaml:7:7 upstreams[0].auth.passwordFile: cannot be combined with password; set exactly one of them'],
  },
  {
    name: 'auth without username',
    yaml: doc(...HUB, '    auth:', '      password: ${HUB_TOKEN}'),
    env: { HUB_TOKEN: 'dckr_pat_s3cret' },
    secret: 'dckr_pat_s3cret',
    expected: ['conf/x.yaml:5:7 upstreams[0].auth.username: required key is missing'],
  },
  {
    name: 'auth with an empty username and no password at all',
    yaml: doc(...HUB, '    auth: { username: "" }'),
    expected: [
      'conf/x.yaml:4:11 upstreams[0].auth: needs password or passwordFile',
      'conf/x.yaml:4:23 upstreams[0].auth.username: must be a non-empty string, got string ""',
    ],
  },
  {
    name: 'password is not a string (value not echoed)',
    yaml: doc(...HUB, '    auth:', '      username: bot', '      password: 8675309'),
    secret: '8675309',
    expected: ['conf/x.yaml:6:17 upstreams[0].auth.password: must be a string'],
  },
  {
    name: 'password is a sequence (value not echoed)',
    yaml: doc(...HUB, '    auth: { username: bot, password: [hunter2] }'),
    secret: 'hunter2',
    expected: ['conf/x.yaml:4:38 upstreams[0].auth.password: must be a string'],
  },
  {
    name: 'empty password from the environment',
    yaml: doc(...HUB, '    auth: { username: bot, password: "${HUB_TOKEN}" }'),
    env: { HUB_TOKEN: '' },
    expected: ['conf/x.yaml:4:38 upstreams[0].auth.password: must not be empty'],
  },
  {
    name: 'the password written as auth itself (value not echoed)',
    yaml: doc(...HUB, '    auth: ${HUB_TOKEN}'),
    env: { HUB_TOKEN: 'dckr_pat_s3cret' },
    secret: 'dckr_pat_s3cret',
    expected: ['conf/x.yaml:4:11 upstreams[0].auth: must be a mapping with username and password or passwordFile'],
  },
  {
    name: 'misspelt password key (value not echoed)',
    yaml: doc(...HUB, '    auth:', '      username: bot', '      pasword: hunter2'),
    secret: 'hunter2',
    expected: [
      'conf/x.yaml:5:7 upstreams[0].auth: needs password or passwordFile',
      'conf/x.yaml:6:7 upstreams[0].auth.pasword: unknown key; did you mean "password"?',
    ],
  },

  // --- repository naming ---
  {
    name: 'repositoryPrefix with a leading slash',
    yaml: doc(...HUB, '    repositoryPrefix: /docker'),
    expected: ['conf/x.yaml:4:23 upstreams[0].repositoryPrefix: must not start or end with "/", got string "/docker"'],
  },
  {
    name: 'repositoryPrefix with uppercase',
    yaml: doc(...HUB, '    repositoryPrefix: Proxy/Docker'),
    expected: [
      'conf/x.yaml:4:23 upstreams[0].repositoryPrefix: must be a repository path such as "docker" or "proxy/docker-hub" (components of lowercase letters and digits with single ".", "_" or "-" between them, joined by "/"), got string "Proxy/Docker"',
    ],
  },
  {
    name: 'repositoryPrefix with an empty component',
    yaml: doc(...HUB, '    repositoryPrefix: proxy//hub'),
    expected: [
      'conf/x.yaml:4:23 upstreams[0].repositoryPrefix: must be a repository path such as "docker" or "proxy/docker-hub" (components of lowercase letters and digits with single ".", "_" or "-" between them, joined by "/"), got string "proxy//hub"',
    ],
  },
  {
    name: 'dockerHub is not a boolean',
    yaml: doc(...HUB, '    dockerHub: "true"'),
    expected: ['conf/x.yaml:4:16 upstreams[0].dockerHub: must be true or false, got string "true"'],
  },

  // --- registries ---
  {
    name: 'Docker Hub under registries',
    yaml: doc(
      ...HUB,
      'registries:',
      '  docker.io:',
      '    upstreams: [{ name: gcr, url: "https://mirror.gcr.io" }]',
      '  Index.Docker.io:',
      '    upstreams: [{ name: hub-2, url: "https://registry-1.docker.io" }]',
    ),
    expected: [
      'conf/x.yaml:5:3 registries.docker.io: "docker.io" cannot be configured here: the top-level "upstreams" list serves Docker Hub; put its mirrors there',
      'conf/x.yaml:7:3 registries.Index.Docker.io: "index.docker.io" cannot be configured here: the top-level "upstreams" list serves Docker Hub; put its mirrors there',
    ],
  },
  {
    name: 'registry name that is a URL',
    yaml: doc(...HUB, 'registries:', '  "https://ghcr.io":', '    upstreams: [{ name: ghcr, url: "https://ghcr.io" }]'),
    expected: ['conf/x.yaml:5:3 registries.https://ghcr.io: must be a registry host name with an optional port, such as "ghcr.io" or "registry.corp:5000"'],
  },
  {
    name: 'registries as a list',
    yaml: doc(...HUB, 'registries:', '  - ghcr.io'),
    expected: ['conf/x.yaml:5:3 registries: must be a mapping, got a sequence'],
  },
  {
    name: 'registry with empty upstreams',
    yaml: doc(...HUB, 'registries:', '  ghcr.io:', '    upstreams: []'),
    expected: ['conf/x.yaml:6:16 registries.ghcr.io.upstreams: must be a non-empty sequence of upstreams, got an empty sequence'],
  },
  {
    name: 'registry without a mapping',
    yaml: doc(...HUB, 'registries:', '  ghcr.io:', '  quay.io: https://quay.io'),
    expected: [
      'conf/x.yaml:5:11 registries.ghcr.io: must be a mapping, got null',
      'conf/x.yaml:6:12 registries.quay.io: must be a mapping, got string "https://quay.io"',
    ],
  },
  {
    name: 'registry with all weights 0',
    yaml: doc(
      ...HUB,
      'registries:',
      '  ghcr.io:',
      '    upstreams:',
      '      - { name: ghcr, url: "https://ghcr.io", weight: 0 }',
      '      - { name: ghcr-b, url: "https://ghcr-b.corp", backup: true }',
    ),
    expected: ['conf/x.yaml:7:7 registries.ghcr.io.upstreams: at least one non-backup upstream needs weight > 0'],
  },
  {
    name: 'duplicate upstream name across registries',
    yaml: doc(...HUB, 'registries:', '  ghcr.io:', '    upstreams:', '      - name: hub', '        url: https://ghcr.io'),
    expected: ['conf/x.yaml:7:15 registries.ghcr.io.upstreams[0].name: duplicate upstream name "hub"; first used at line 2'],
  },
  {
    name: 'duplicate upstream name: the first in the file wins, whichever section it is in',
    yaml: doc(
      'registries:',
      '  quay.io:',
      '    upstreams: [{ name: mirror, url: "https://quay.io" }]',
      '  ghcr.io:',
      '    upstreams: [{ name: mirror, url: "https://ghcr.io" }]',
      'upstreams:',
      '  - name: mirror',
      '    url: https://mirror.gcr.io',
    ),
    expected: [
      'conf/x.yaml:5:25 registries.ghcr.io.upstreams[0].name: duplicate upstream name "mirror"; first used at line 3',
      'conf/x.yaml:7:11 upstreams[0].name: duplicate upstream name "mirror"; first used at line 3',
    ],
  },
  {
    name: 'duplicate host across registries (hosts are not case-sensitive)',
    yaml: doc(
      ...HUB,
      'registries:',
      '  ghcr.io:',
      '    hosts: [mirror.company.com]',
      '    upstreams: [{ name: ghcr, url: "https://ghcr.io" }]',
      '  quay.io:',
      '    hosts:',
      '      - quay.company.com',
      '      - Mirror.Company.com',
      '    upstreams: [{ name: quay, url: "https://quay.io" }]',
    ),
    expected: ['conf/x.yaml:11:9 registries.quay.io.hosts[1]: duplicate host "mirror.company.com"; first used at line 6'],
  },
  {
    name: 'hosts with a port',
    yaml: doc(...HUB, 'registries:', '  ghcr.io:', '    hosts: ["ghcr-mirror.company.com:5000"]', '    upstreams: [{ name: ghcr, url: "https://ghcr.io" }]'),
    expected: ['conf/x.yaml:6:13 registries.ghcr.io.hosts[0]: must be a host name without scheme, port or path, got string "ghcr-mirror.company.com:5000"'],
  },
  {
    name: 'registry names differing only in case',
    yaml: doc(
      ...HUB,
      'registries:',
      '  ghcr.io:',
      '    upstreams: [{ name: a, url: "https://a" }]',
      '  GHCR.IO:',
      '    upstreams: [{ name: b, url: "https://b" }]',
    ),
    expected: ['conf/x.yaml:7:3 registries.GHCR.IO: duplicate registry "ghcr.io" (registry names are not case-sensitive); first defined at line 5'],
  },
  {
    name: 'unknown key inside a registry with a hint',
    yaml: doc(...HUB, 'registries:', '  ghcr.io:', '    upstream:', '      - { name: ghcr, url: "https://ghcr.io" }'),
    expected: [
      'conf/x.yaml:6:5 registries.ghcr.io.upstream: unknown key; did you mean "upstreams"?',
      'conf/x.yaml:6:5 registries.ghcr.io.upstreams: required key is missing',
    ],
  },
  // --- authority ---
  {
    name: 'an authority takes no weight or backup',
    yaml: doc(...HUB, 'authority:', '  name: hub-tags', '  url: https://registry-1.docker.io', '  weight: 2', 'cache: {}'),
    expected: [
      'conf/x.yaml:7:3 authority.weight: unknown key; expected one of name, url, tls, timeouts, maxConnections, breaker, auth, redirects, health, dockerHub, repositoryPrefix',
    ],
  },
  {
    name: 'an authority is checked like an upstream, and needs a name of its own',
    yaml: doc(...HUB, 'authority: { name: hub, url: "https://registry-1.docker.io/v2", timeouts: { headers: 0s } }', 'cache: {}'),
    expected: [
      'conf/x.yaml:4:20 authority.name: duplicate upstream name "hub"; first used at line 2',
      'conf/x.yaml:4:30 authority.url: must not end with "/v2": the gateway appends /v2 itself; use "https://registry-1.docker.io"',
      'conf/x.yaml:4:86 authority.timeouts.headers: must be a duration > 0 such as "500ms", "30s", "5m" or "1h", got string "0s"',
    ],
  },
  {
    name: 'a registry authority without a url, and an authority without the cache',
    yaml: doc(...HUB, 'registries:', '  ghcr.io:', '    upstreams: [{ name: ghcr, url: "https://ghcr.io" }]', '    authority: { name: ghcr-tags }'),
    expected: [
      'conf/x.yaml:7:5 registries.ghcr.io.authority: resolving tags at an authority needs the cache; add "cache:" or remove the authority',
      'conf/x.yaml:7:16 registries.ghcr.io.authority.url: required key is missing',
    ],
  },
  // --- cache.tags ---
  {
    name: 'tag rules: bad pattern, missing ttl, unknown key, not a list',
    yaml: doc(
      ...HUB,
      'cache:',
      '  tags:',
      '    notFoundTtl: -1s',
      '    rules:',
      '      - { match: "library/*:1.*", ttl: 1h }',
      '      - { match: "a b", ttl: 1m }',
      '      - { match: "*:latest" }',
      '      - { match: "x", tll: 1m }',
    ),
    expected: [
      'conf/x.yaml:6:18 cache.tags.notFoundTtl: must be a duration >= 0 such as "500ms", "30s", "5m" or "1h", got string "-1s"',
      'conf/x.yaml:9:18 cache.tags.rules[1].match: must be a pattern over "repository:tag" of name and tag characters and "*", such as "library/*:latest", got "a b"',
      'conf/x.yaml:10:9 cache.tags.rules[2].ttl: required key is missing',
      'conf/x.yaml:11:9 cache.tags.rules[3].ttl: required key is missing',
      'conf/x.yaml:11:23 cache.tags.rules[3].tll: unknown key; did you mean "ttl"?',
    ],
  },
  {
    name: 'tag rules as a mapping',
    yaml: doc(...HUB, 'cache: { tags: { rules: { match: "*", ttl: 1m } } }'),
    expected: ['conf/x.yaml:4:25 cache.tags.rules: must be a sequence of { match, ttl } rules, got a mapping'],
  },
  {
    name: 'problems inside a registry upstream have full paths',
    yaml: doc(
      ...HUB,
      'registries:',
      '  ghcr.io:',
      '    upstreams:',
      '      - name: ghcr',
      '        url: https://${GHCR_HOST}',
      '        wieght: 2',
      '        auth: { username: bot, password: 42 }',
    ),
    expected: [
      'conf/x.yaml:8:14 registries.ghcr.io.upstreams[0].url: environment variable GHCR_HOST is not set',
      'conf/x.yaml:9:9 registries.ghcr.io.upstreams[0].wieght: unknown key; did you mean "weight"?',
      'conf/x.yaml:10:42 registries.ghcr.io.upstreams[0].auth.password: must be a string',
    ],
  },

  // --- many problems at once, in document order ---
  {
    name: 'multiple problems reported together',
    yaml: doc(
      'listen: "0.0.0.0:99999"', // 1
      'upstreams:', // 2
      '  - name: Hub', // 3
      '    url: ftp://hub', // 4
      '    weight: -1', // 5
      '    timeouts: { connect: 10 }', // 6
      '  - name: gcr', // 7
      '    url: https://${GCR_HOST}/v2', // 8
      '    wieght: 2', // 9
      '  - url: https://quay.io', // 10
      '    maxConnections: 0', // 11
      'log: { level: loud }', // 12
    ),
    expected: [
      'conf/x.yaml:1:9 listen: port must be an integer from 0 to 65535, got "99999"',
      'conf/x.yaml:3:11 upstreams[0].name: must be a name of lowercase letters, digits and "-", got string "Hub"',
      'conf/x.yaml:4:10 upstreams[0].url: must be an http:// or https:// URL, got string "ftp://hub"',
      'conf/x.yaml:5:13 upstreams[0].weight: must be an integer >= 0, got -1',
      'conf/x.yaml:6:26 upstreams[0].timeouts.connect: must be a duration > 0 such as "500ms", "30s", "5m" or "1h", got 10',
      'conf/x.yaml:8:10 upstreams[1].url: environment variable GCR_HOST is not set',
      'conf/x.yaml:9:5 upstreams[1].wieght: unknown key; did you mean "weight"?',
      'conf/x.yaml:10:5 upstreams[2].name: required key is missing',
      'conf/x.yaml:11:21 upstreams[2].maxConnections: must be an integer >= 1, got 0',
      'conf/x.yaml:12:15 log.level: must be one of fatal, error, warn, info, debug, trace, silent, got string "loud"',
    ],
  },
];

t.ok(cases.length >= 85, `at least 85 bad documents (have ${cases.length})`);

for (const c of cases) {
  t.test(c.name, async (t) => {
    let caught: unknown;
    try {
      parseConfig(c.yaml, SOURCE, c.env ?? {});
    } catch (err) {
      caught = err;
    }
    if (!(caught instanceof ConfigError)) {
      t.fail(`expected a ConfigError, got ${caught === undefined ? 'a valid config' : String(caught)}`);
      return;
    }
    t.equal(caught.code, 'CONFIG_INVALID');
    t.equal(caught.name, 'ConfigError');
    t.equal(caught.message, c.expected.join('\n'));
    t.equal(caught.problems.length, c.expected.length, 'one problem per line');
    t.equal(formatProblems(SOURCE, caught.problems), caught.message);
    if (c.secret !== undefined) t.notOk(caught.message.includes(c.secret), 'the password is not in the message');
  });
}
