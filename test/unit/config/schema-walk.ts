/**
 * Asks the loader itself which keys it accepts, without reading the schema
 * table: a probe key (`zz_probe`, far from every real key, so no "did you
 * mean") is put into a mapping and the loader's "unknown key; expected one
 * of a, b, c" names the mapping's keys. Each key is then probed as a mapping,
 * as a list of mappings and as a mapping of user-chosen names
 * (`registries: { probe.example: {...} }`) to find the next level.
 *
 * Paths are written like CONFIG_KEYS's: `upstreams[].tls.ca`,
 * `registries.<name>.hosts`. Used by test/unit/config/schema.test.ts and
 * test/unit/docs/configuration-docs.test.ts.
 */
import { ConfigError, parseConfig, type Config, type ConfigProblem } from '../../../src/config/index.js';
import { isKey, pathSegments, type ConfigKey } from '../../../src/config/schema.js';

/** The key chosen for `<name>` in concrete documents. */
const NAME = 'probe.example';
const PROBE = 'zz_probe';
/** Stands for raw YAML text in a document built as JSON (JSON is YAML 1.2). */
const RAW = 'RAW-YAML-e1b0';

export type KeyKind = 'value' | 'mapping' | 'list' | 'named';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Container = Json[] | { [key: string]: Json };

/**
 * A valid config with one upstream, one extra registry, the cache on (`cache: {}`) and one image
 * to prefetch, so every path below `upstreams[]`, `registries.<name>`, `cache` and `prefetch`
 * exists and has its defaults.
 */
export function baseDocument(): { [key: string]: Json } {
  return {
    // The object form, so that keys under `listen` exist; `"0.0.0.0:5000"` is the same listener.
    listen: { address: '0.0.0.0:5000' },
    access: { rules: [{ repositories: ['*'], allow: 'anonymous' }] },
    upstreams: [{ name: 'a', url: 'https://a.example' }],
    registries: { [NAME]: { upstreams: [{ name: 'b', url: 'https://b.example' }] } },
    cache: {},
    prefetch: { images: ['nginx:1.27'] },
  };
}

/**
 * baseDocument with one item in each optional list of mappings (`cache.tags.rules`), so that
 * every required key exists somewhere to be left out. Not the base: its defaults differ.
 */
export function documentWithLists(): { [key: string]: Json } {
  return {
    ...baseDocument(),
    listen: { address: '0.0.0.0:5443', tls: { cert: 'tls.crt', key: 'tls.key' } },
    access: { htpasswd: 'htpasswd', rules: [{ repositories: ['*'], allow: ['ci'] }] },
    cache: { tags: { rules: [{ match: '*:latest', ttl: '1m' }] } },
  };
}

export function joinPath(parent: string, key: string): string {
  return parent === '' ? key : key === '[]' ? `${parent}[]` : `${parent}.${key}`;
}

/** How the loader names `path` in its problems: `upstreams[0].tls.ca`, `registries.probe.example.hosts`. */
export function concretePath(path: string): string {
  return pathSegments(path).reduce<string>((acc, s) => (s === '[]' ? `${acc}[0]` : joinPath(acc, s === '<name>' ? NAME : s)), '');
}

/** Sets `path` in `doc` to `value`, creating mappings (or a one-item list before `[]`) on the way. */
export function setPath(doc: { [key: string]: Json }, path: string, value: Json): void {
  const segments = pathSegments(path);
  let node: Container = doc;
  segments.forEach((segment, i) => {
    const key = segment === '[]' ? 0 : segment === '<name>' ? NAME : segment;
    const slot = node as Record<string | number, Json>;
    if (i === segments.length - 1) {
      slot[key] = value;
      return;
    }
    const next = slot[key];
    if (typeof next !== 'object' || next === null) slot[key] = segments[i + 1] === '[]' ? [{}] : {};
    node = slot[key] as Container;
  });
}

/** Deletes `path` from `doc` (a key under `[]` is deleted from the first item). */
export function removePath(doc: { [key: string]: Json }, path: string): void {
  const segments = pathSegments(path);
  let node: unknown = doc;
  for (const segment of segments.slice(0, -1)) {
    const key = segment === '[]' ? 0 : segment === '<name>' ? NAME : segment;
    node = (node as Record<string | number, unknown>)[key];
    if (typeof node !== 'object' || node === null) return;
  }
  delete (node as Record<string, unknown>)[segments.at(-1)!];
}

/** `doc` as YAML text, with the RAW placeholder (if any) replaced by `raw`. */
export function toYaml(doc: Json, raw?: string): string {
  const text = JSON.stringify(doc, null, 1);
  return raw === undefined ? text : text.replace(JSON.stringify(RAW), raw);
}

/** The document with `path` set to the YAML text `raw`. */
export function withRaw(path: string, raw: string): string {
  const doc = baseDocument();
  setPath(doc, path, RAW);
  return toYaml(doc, raw);
}

export function parse(yaml: string): Config {
  return parseConfig(yaml, 'probe.yaml', {});
}

export function problemsOf(yaml: string): readonly ConfigProblem[] {
  try {
    parse(yaml);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

const UNKNOWN = 'unknown key; expected one of ';

/** The keys of the mapping at `mapping` (abstract path) when `path` is set to `value`, if the loader reads it as one. */
function keysWhen(path: string, value: Json, mapping: string): string[] | undefined {
  const doc = baseDocument();
  setPath(doc, path, value);
  const where = concretePath(joinPath(mapping, PROBE));
  const problem = problemsOf(toYaml(doc)).find((p) => p.path === where && p.message.startsWith(UNKNOWN));
  return problem?.message.slice(UNKNOWN.length).split(', ');
}

/** Every key path the loader accepts, at every depth, with what kind of value it takes. */
export function acceptedKeys(): Map<string, KeyKind> {
  const found = new Map<string, KeyKind>();
  const visit = (parent: string, keys: readonly string[]): void => {
    for (const key of keys) {
      const path = joinPath(parent, key);
      let inner: string[] | undefined;
      if ((inner = keysWhen(path, { [PROBE]: 1 }, path)) !== undefined) {
        found.set(path, 'mapping');
        visit(path, inner);
      } else if ((inner = keysWhen(path, [{ [PROBE]: 1 }], `${path}[]`)) !== undefined) {
        found.set(path, 'list');
        visit(`${path}[]`, inner);
      } else if ((inner = keysWhen(path, { [NAME]: { [PROBE]: 1 } }, `${path}.<name>`)) !== undefined) {
        found.set(path, 'named');
        visit(`${path}.<name>`, inner);
      } else found.set(path, 'value');
    }
  };
  const root = keysWhen(PROBE, 1, '');
  if (root === undefined) throw new Error('the loader did not report the probe key at the top level');
  visit('', root);
  return found;
}

/** Every proper prefix of `path` that ends at a key: `upstreams[].tls.ca` → `upstreams`, `upstreams[].tls`. */
export function ancestors(path: string): string[] {
  const segments = pathSegments(path);
  const out: string[] = [];
  let acc = '';
  segments.slice(0, -1).forEach((s) => {
    acc = joinPath(acc, s);
    if (isKey(s)) out.push(acc);
  });
  return out;
}

/**
 * The key paths a list of rows accounts for: each row's path and the keys
 * above it, and for a `sameAs` row everything the rows below its target
 * account for, moved under the row (`upstreams[].breaker` + `breaker.window`
 * → `upstreams[].breaker.window`), less its `except` keys. Only `rows` are used as targets' contents.
 */
export function pathsCovered(rows: readonly Pick<ConfigKey, 'path' | 'sameAs' | 'except'>[]): Set<string> {
  const expand = (row: Pick<ConfigKey, 'path' | 'sameAs' | 'except'>, depth: number): string[] => {
    const target = row.sameAs;
    if (target === undefined) return [row.path];
    if (depth > 10) throw new Error(`sameAs loop at ${row.path}`);
    // `except` keys of the target (an authority's weight) are not taken here, nor anything below them.
    const excluded = (row.except ?? []).map((key) => joinPath(target, key));
    const under = (path: string, parent: string): boolean => path.startsWith(`${parent}.`) || path.startsWith(`${parent}[]`);
    const below = rows.filter((r) => under(r.path, target) && !excluded.some((e) => r.path === e || under(r.path, e)));
    return [row.path, ...below.flatMap((r) => expand(r, depth + 1)).map((p) => row.path + p.slice(target.length))];
  };
  return new Set(rows.flatMap((row) => expand(row, 0)).flatMap((p) => [...ancestors(p), p]));
}
