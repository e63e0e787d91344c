/**
 * CONFIG_KEYS is the loader's truth: the keys it lists are exactly the keys
 * the loader accepts (asked of the loader, not of the table), its required
 * keys are required, and writing out each default gives the same Config as
 * leaving the key out.
 */
import t from 'tap';
import { CONFIG_KEYS } from '../../../src/config/index.js';
import { keysOf } from '../../../src/config/schema.js';
import { acceptedKeys, baseDocument, concretePath, documentWithLists, parse, pathsCovered, problemsOf, removePath, toYaml, withRaw } from './schema-walk.js';

const sorted = (paths: Iterable<string>): string[] => [...paths].sort();

t.test('the table lists exactly the keys the loader accepts', async (t) => {
  const accepted = acceptedKeys();
  const listed = pathsCovered(CONFIG_KEYS);
  t.same(sorted([...accepted.keys()].filter((p) => !listed.has(p))), [], 'accepted by the loader, missing from CONFIG_KEYS');
  t.same(sorted([...listed].filter((p) => !accepted.has(p))), [], 'in CONFIG_KEYS, refused by the loader');
  // Spot checks that the walk itself reaches every level.
  t.equal(accepted.get('upstreams'), 'list');
  t.equal(accepted.get('registries'), 'named');
  t.equal(accepted.get('upstreams[].tls'), 'mapping');
  t.equal(accepted.get('registries.<name>.upstreams[].breaker.window'), 'value');
});

t.test('a row of its own is a value, a list or a named map; a sameAs row takes what its target takes', async (t) => {
  const accepted = acceptedKeys();
  for (const row of CONFIG_KEYS) {
    const kind = accepted.get(row.path);
    // `listen` is the exception: a string by default, or a mapping (or a list of either).
    if (row.sameAs === undefined) {
      if (row.path !== 'listen') t.not(kind, 'mapping', `${row.path}: a mapping is described by its keys' rows`);
    } else t.equal(kind, accepted.get(row.sameAs) ?? 'mapping', `${row.path} is read like ${row.sameAs}`);
  }
  t.equal(new Set(CONFIG_KEYS.map((k) => k.path)).size, CONFIG_KEYS.length, 'no path listed twice');
});

t.test('required keys are required', async (t) => {
  const base = documentWithLists();
  t.same(problemsOf(toYaml(base)), [], 'the probe document is valid');
  for (const row of CONFIG_KEYS.filter((k) => k.required === true)) {
    const doc = documentWithLists();
    removePath(doc, row.path);
    const where = concretePath(row.path);
    t.ok(
      problemsOf(toYaml(doc)).some((p) => p.path === where && p.message === 'required key is missing'),
      `${row.path}: leaving it out is reported`,
    );
  }
});

t.test('writing out a default gives the same Config as leaving the key out', async (t) => {
  const omitted = parse(toYaml(baseDocument()));
  for (const row of CONFIG_KEYS) {
    if (row.default === undefined) continue;
    t.same(parse(withRaw(row.path, row.default)), omitted, `${row.path}: ${row.default}`);
  }
});

t.test('keysOf gives each mapping its keys in table order', async (t) => {
  t.same(keysOf(''), [
    'listen',
    'access',
    'upstreams',
    'authority',
    'registries',
    'redirects',
    'breaker',
    'health',
    'balance',
    'failover',
    'verifyDigests',
    'cache',
    'prefetch',
    'workers',
    'timeouts',
    'log',
    'shutdown',
  ]);
  t.same(keysOf('upstreams[].timeouts'), ['connect', 'headers', 'idle', 'queue']);
  t.same(keysOf('registries.<name>'), ['hosts', 'upstreams', 'authority', 'balance']);
  t.same(keysOf('cache.tags'), ['ttl', 'rules', 'notFoundTtl']);
  t.throws(() => keysOf('upstreams[].tsl'), /no keys under "upstreams\[\]\.tsl"/);
});
