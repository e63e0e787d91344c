// Import boundaries of src/ (STYLE.md "A layout that shows the architecture"), checked by
// `npm run lint:deps` (part of `npm run lint`, which `npm test` runs). Tests are not cruised.
//
// Layers, left may import right, never back (skipping a layer is allowed):
//   cli.ts, cli/  →  server/  →  access/  →  proxy/, cache/  →  upstream/  →  balancer/
// Leaves any layer may import: config/, registry/, observability/, stream/.
// Type-only imports count (tsPreCompilationDeps), so a type cannot smuggle a dependency back.
'use strict';

const KNOWN = '^src/(cli\\.ts$|(cli|server|access|proxy|cache|upstream|balancer|config|registry|observability|stream)/)';
const under = (...folders) => `^src/(${folders.join('|')})/`;
const CLI = '^src/(cli\\.ts$|cli/)';

/** `from` may not import `to`. */
const layer = (name, comment, from, to) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from },
  to: { path: to },
});

/** Only `allowed` may import the npm package(s) matched by `pkg` (type-only imports included). */
const onlyFrom = (name, comment, allowed, pkg) => ({
  name,
  comment,
  severity: 'error',
  from: { path: '^src/', pathNot: allowed },
  to: { path: `(^|/)node_modules/${pkg}/` },
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycles anywhere in src/.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import the cruiser cannot resolve would slip past every rule here.',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
    {
      name: 'known-places-only',
      comment: 'Every module in src/ sits in a folder these rules know; a new folder gets its rules here first.',
      severity: 'error',
      from: { path: '^src/', pathNot: KNOWN },
      to: {},
    },
    {
      name: 'to-known-places-only',
      comment: 'Every module in src/ sits in a folder these rules know; a new folder gets its rules here first.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/', pathNot: KNOWN },
    },

    // Who may use which package: everything else receives what it needs.
    onlyFrom('undici-only-in-upstream', 'Only src/upstream/ talks undici.', under('upstream'), '(undici|undici-types)'),
    onlyFrom('opossum-only-in-breaker', 'Only the breaker wrapper imports opossum.', '^src/upstream/breaker\\.ts$', '(@types/)?opossum'),
    onlyFrom('pino-only-in-observability', 'Only src/observability/ imports pino.', under('observability'), '(pino|pino-[a-z0-9-]+)'),
    onlyFrom('prom-client-only-in-observability', 'Only src/observability/ imports prom-client.', under('observability'), 'prom-client'),
    onlyFrom('yaml-only-in-config', 'Only src/config/ parses YAML.', under('config'), 'yaml'),
    onlyFrom('bcryptjs-only-in-access', 'Only src/access/ verifies passwords.', under('access'), 'bcryptjs'),
    onlyFrom('cli-progress-only-in-cli', 'Only the command line draws progress bars.', under('cli'), '(@types/)?cli-progress'),

    // Layer direction.
    layer('server-not-to-cli', 'server/ is started by the CLI, never the other way.', under('server'), CLI),
    layer('access-not-up', 'access/ (who may pull) is asked by server/, and never asks it back.', under('access'), `${under('server')}|${CLI}`),
    layer('proxy-not-up', 'proxy/ must not import server/, access/ or the CLI.', under('proxy'), `${under('server', 'access')}|${CLI}`),
    layer('cache-not-up', 'cache/ must not import server/, access/ or the CLI.', under('cache'), `${under('server', 'access')}|${CLI}`),
    layer(
      'upstream-not-up',
      'upstream/ must not import proxy/, cache/, access/, server/ or the CLI.',
      under('upstream'),
      `${under('proxy', 'cache', 'access', 'server')}|${CLI}`,
    ),
    {
      name: 'balancer-is-a-leaf',
      comment: 'balancer/ knows nothing of HTTP, config or metrics: it imports only itself.',
      severity: 'error',
      from: { path: under('balancer') },
      to: { path: '^src/', pathNot: under('balancer') },
    },
    {
      name: 'stream-is-a-leaf',
      comment: 'stream/ (sinks and stream helpers shared by all) imports nothing from src/ but itself.',
      severity: 'error',
      from: { path: under('stream') },
      to: { path: '^src/', pathNot: under('stream') },
    },
    layer(
      'registry-is-a-leaf',
      'registry/ is pure protocol helpers: nothing from server/, proxy/, cache/, upstream/ or the CLI.',
      under('registry'),
      `${under('server', 'proxy', 'cache', 'upstream')}|${CLI}`,
    ),
    layer(
      'config-is-a-leaf',
      'config/ turns YAML into a frozen Config: nothing from server/, proxy/, cache/, upstream/, balancer/, observability/ or the CLI.',
      under('config'),
      `${under('server', 'access', 'proxy', 'cache', 'upstream', 'balancer', 'observability')}|${CLI}`,
    ),
    layer(
      'observability-is-a-leaf',
      'observability/ is handed to others: nothing from server/, proxy/, cache/, upstream/ or the CLI.',
      under('observability'),
      `${under('server', 'proxy', 'cache', 'upstream')}|${CLI}`,
    ),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
