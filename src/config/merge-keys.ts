/**
 * YAML merge keys (`<<: *defaults`, `<<: [*a, *b]`), as ops use them to share settings between
 * upstreams. The yaml package's `merge` option only marks a plain `<<` key (a quoted "<<" is an
 * ordinary key); what it brings in is worked out here, on the tree, since the validator never
 * converts the document to JS. The rules are YAML 1.1's (yaml.org/type/merge.html): a key of
 * the mapping itself wins over a merged one, and among merged mappings the earlier one wins.
 *
 * Each mapping's merged pairs are worked out once (an alias count of 1000 cannot multiply them),
 * a mapping that merges itself is refused, and the pairs brought in over the whole file are
 * capped, so a chain of mappings that each merge a big one stays linear.
 */
import { isMap, isScalar, isSeq, type Node, type Pair, type Scalar, type YAMLMap } from 'yaml';
import { describe } from './checks.js';
import type { ValueNode } from './value-node.js';

/** Pairs merge keys may bring in, over the whole file: far above any real config, far below a slow one. */
export const MAX_MERGED_PAIRS = 10_000;

/** What the merge needs of the validator's context (Ctx). */
export interface MergeHost {
  resolve(node: unknown): ValueNode;
  report(path: string, node: Node | null | undefined, message: string): void;
}

/** A key and value a merge key brought in; `key` is where the merged mapping has it. */
export interface MergedPair {
  readonly name: string;
  readonly key: Scalar;
  readonly value: unknown;
}

/** A plain `<<` key, as yaml marks it with the `merge` option. */
export function isMergeKey(key: unknown): boolean {
  return isScalar(key) && typeof key.value === 'symbol' && key.value.description === '<<';
}

/** A plain scalar key as it is written: `<<` for a merge key (whose value is a symbol). */
export function keyName(key: Scalar): string {
  return isMergeKey(key) ? '<<' : String(key.value);
}

export class MergeKeys {
  readonly #pairs = new Map<YAMLMap, readonly MergedPair[]>();
  readonly #expanding = new Set<YAMLMap>();
  #left = MAX_MERGED_PAIRS;

  constructor(private readonly host: MergeHost) {}

  /** The pairs `<<: value` at `path` brings in, in order of precedence, each name once. */
  pairsOf(path: string, merge: Pair): MergedPair[] {
    const value = this.host.resolve(merge.value);
    const sources = isSeq(value) ? value.items.map((item) => ({ node: this.host.resolve(item), at: item })) : [{ node: value, at: merge.value }];
    const pairs: MergedPair[] = [];
    for (const { node, at } of sources) {
      if (!isMap(node)) {
        this.host.report(path, (at as Node | null) ?? (merge.key as Node), `a merge key takes a mapping or a list of mappings, got ${describe(node)}`);
        continue;
      }
      if (this.#expanding.has(node)) {
        this.host.report(path, merge.key as Node, 'a merge key may not bring in the mapping it is in');
        continue;
      }
      pairs.push(...this.#effective(path, node));
    }
    return firstOfEach(pairs);
  }

  /** A mapping's pairs with its own merge keys applied: its own first, then what they bring in. */
  #effective(path: string, map: YAMLMap): readonly MergedPair[] {
    const known = this.#pairs.get(map);
    if (known !== undefined) return known;
    this.#expanding.add(map);
    const own: MergedPair[] = [];
    const merged: MergedPair[] = [];
    for (const pair of map.items) {
      if (isMergeKey(pair.key)) merged.push(...this.pairsOf(path, pair));
      else if (isScalar(pair.key)) own.push({ name: keyName(pair.key), key: pair.key, value: pair.value });
      // A key that is not a plain string is reported where the mapping itself is read.
    }
    this.#expanding.delete(map);
    let pairs = firstOfEach([...own, ...merged]);
    this.#left -= pairs.length;
    if (this.#left < 0) {
      if (this.#left + pairs.length >= 0) this.host.report(path, map, `merge keys bring in more than ${MAX_MERGED_PAIRS} keys in this file`);
      pairs = [];
    }
    this.#pairs.set(map, pairs);
    return pairs;
  }
}

/** The first pair of each name: the one that takes precedence. */
function firstOfEach(pairs: readonly MergedPair[]): MergedPair[] {
  const seen = new Set<string>();
  return pairs.filter((pair) => !seen.has(pair.name) && seen.add(pair.name));
}
