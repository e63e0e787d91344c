/**
 * docs/configuration.md cannot drift from the loader (STYLE.md, "Docs next to
 * the code they describe"): every key the loader accepts has a row (or is a
 * mapping whose keys have rows, or lies under a documented `sameAs` row such
 * as `upstreams[].breaker`), no row names a key the loader refuses, and a
 * default written as one value (`` `5s` ``) is the loader's default: writing
 * it into a config gives the same Config as leaving the key out.
 *
 * The keys are asked of the loader itself (test/unit/config/schema-walk.ts),
 * not read from CONFIG_KEYS, so a key added to a validator without a row in
 * the table is caught here too.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { tableRows } from '../../helpers/markdown-tables.js';
import { CONFIG_KEYS } from '../../../src/config/index.js';
import { acceptedKeys, baseDocument, parse, pathsCovered, toYaml, withRaw } from '../config/schema-walk.js';

const DOC = 'docs/configuration.md';

interface Row {
  readonly path: string;
  readonly default: string;
  readonly line: number;
}

/** The rows of every `| key | type | default | meaning |` table. */
function documentedRows(markdown: string): Row[] {
  return tableRows(markdown, ['key', 'type', 'default', 'meaning']).map(({ cells, line }) => {
    const key = /^`([^`]+)`$/.exec(cells[0]!);
    if (key === null) throw new Error(`${DOC}:${line}: the key cell must be one \`path\`, got ${cells[0]}`);
    return { path: key[1]!, default: cells[2] ?? '', line };
  });
}

/** `` `5s` `` → `5s`; undefined for anything but a single code span (`none`, `—`, prose). */
const literal = (cell: string): string | undefined => /^`([^`]+)`$/.exec(cell)?.[1];

const markdown = readFileSync(new URL(`../../../${DOC}`, import.meta.url), 'utf8');
const rows = documentedRows(markdown);
const byPath = new Map(rows.map((r) => [r.path, r]));
const sameAs = new Map(CONFIG_KEYS.filter((k) => k.sameAs !== undefined).map((k) => [k.path, k]));

t.test('the doc has the tables the test reads', async (t) => {
  t.ok(rows.length >= 30, `${rows.length} rows found`);
  t.same(
    rows.map((r) => r.path).filter((p, i, all) => all.indexOf(p) !== i),
    [],
    'no key documented twice',
  );
});

t.test('every key the loader accepts is documented, and no other', async (t) => {
  const accepted = acceptedKeys();
  const covered = pathsCovered(rows.map((r) => ({ path: r.path, sameAs: sameAs.get(r.path)?.sameAs, except: sameAs.get(r.path)?.except })));
  const missing = [...accepted.keys()].filter((p) => !covered.has(p));
  t.same(missing, [], `accepted by the loader, missing from ${DOC}`);
  const stale = [...covered].filter((p) => !accepted.has(p));
  t.same(stale, [], `documented in ${DOC}, refused by the loader`);
  t.same(
    // A row with a single default (`listen`'s "0.0.0.0:5000") is a value that may also be a mapping.
    rows.filter((r) => accepted.get(r.path) === 'mapping' && !sameAs.has(r.path) && literal(r.default) === undefined).map((r) => r.path),
    [],
    'a plain mapping is documented by its keys, not by a row of its own',
  );
});

t.test('every row of CONFIG_KEYS is a row of the doc', async (t) => {
  t.same(
    CONFIG_KEYS.map((k) => k.path).filter((p) => !byPath.has(p)),
    [],
    `in CONFIG_KEYS, missing from ${DOC}`,
  );
});

t.test('a documented default is the loader default', async (t) => {
  const omitted = parse(toYaml(baseDocument()));
  for (const row of rows) {
    const value = literal(row.default);
    if (value === undefined) continue;
    const where = `${DOC}:${row.line} ${row.path}: ${value}`;
    let explicit;
    try {
      explicit = parse(withRaw(row.path, value));
    } catch (err) {
      t.fail(`${where}: the documented default is refused by the loader: ${(err as Error).message}`);
      continue;
    }
    t.same(explicit, omitted, `${where}: writing the default out changes nothing`);
  }
});

t.test('defaults agree with CONFIG_KEYS, and required keys say so', async (t) => {
  for (const key of CONFIG_KEYS) {
    const row = byPath.get(key.path);
    if (row === undefined) continue; // reported above
    const where = `${DOC}:${row.line} ${key.path}`;
    if (key.default !== undefined) t.equal(row.default, `\`${key.default}\``, `${where}: default`);
    else if (key.required === true) t.equal(row.default, '—', `${where}: required, so no default`);
    else t.equal(literal(row.default), undefined, `${where}: has no single default value (none, or derived), got ${row.default}`);
  }
});
