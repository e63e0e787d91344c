/**
 * Reading one YAML mapping against the keys allowed at that level: unknown
 * and duplicate keys are reported here, and typed fields are then pulled out
 * with `field` / `requiredField`, which report their own problems and keep
 * going so that one run lists every mistake.
 */
import { isAlias, isMap, isScalar, isSeq, type Node, type Pair, type Scalar } from 'yaml';
import { describe, type Check } from './checks.js';
import type { Ctx } from './context.js';
import { isMergeKey, keyName } from './merge-keys.js';
import { indexPath, keyPath } from './paths.js';
import { closestKey } from './suggest.js';
import type { ValueNode } from './value-node.js';

interface Entry {
  readonly key: Scalar;
  readonly value: ValueNode;
}

export interface Section {
  readonly path: string;
  /** Where a missing required key is reported: the mapping itself. */
  readonly node: Node | null;
  readonly entries: ReadonlyMap<string, Entry>;
}

const emptySection = (path: string, node: Node | null): Section => ({ path, node, entries: new Map() });

/**
 * Reads `node` as a mapping with the given keys. Anything else is reported
 * and gives undefined, so the caller can skip the contents instead of adding
 * a "required key is missing" for each of them.
 */
export function readSection(ctx: Ctx, node: ValueNode, path: string, known: readonly string[]): Section | undefined {
  return readMapping(ctx, node, path, known);
}

function unknownKeyMessage(name: string, known: readonly string[]): string {
  const hint = closestKey(name, known);
  return hint === undefined ? `unknown key; expected one of ${known.join(', ')}` : `unknown key; did you mean "${hint}"?`;
}

/**
 * Reads `node` as a mapping whose keys are names the user chooses (the
 * `registries:` map), so no key is unknown; duplicate keys are still
 * reported, and merge keys work as in any mapping.
 */
export function readNamedSection(ctx: Ctx, node: ValueNode, path: string): Section | undefined {
  return readMapping(ctx, node, path, undefined);
}

/** `known`: the keys allowed, or undefined when any key is. */
function readMapping(ctx: Ctx, node: ValueNode, path: string, known: readonly string[] | undefined): Section | undefined {
  if (!isMap(node)) {
    if (!ctx.alreadyReported(node)) ctx.report(path, node, `must be a mapping, got ${describe(node)}`);
    return undefined;
  }
  const entries = new Map<string, Entry>();
  let merge: Pair | undefined;
  for (const pair of node.items) {
    if (!isScalar(pair.key)) {
      ctx.report(path, (pair.key as Node | null) ?? node, 'keys must be plain strings');
      continue;
    }
    const name = keyName(pair.key);
    const where = keyPath(path, name);
    const first = isMergeKey(pair.key) ? merge?.key : entries.get(name)?.key;
    if (first !== undefined) {
      ctx.report(where, pair.key, `duplicate key; first defined at line ${ctx.lineOf(first as Node)}`);
    } else if (isMergeKey(pair.key)) {
      merge = pair;
    } else if (known !== undefined && !known.includes(name)) {
      ctx.reportUnknownKey(where, pair.key, () => unknownKeyMessage(name, known));
    } else {
      entries.set(name, { key: pair.key, value: ctx.resolve(pair.value) });
    }
  }
  if (merge !== undefined) addMerged(ctx, entries, path, merge, known);
  return { path, node, entries };
}

/** What `<<` brings in, under the keys the mapping does not set itself (merge-keys.ts). */
function addMerged(ctx: Ctx, entries: Map<string, Entry>, path: string, merge: Pair, known: readonly string[] | undefined): void {
  for (const { name, key, value } of ctx.merges.pairsOf(path, merge)) {
    if (entries.has(name)) continue;
    if (known !== undefined && !known.includes(name)) {
      // Reported at the merge key, where the mapping gets it; the merged mapping may be fine where it is.
      const from = `merged in from line ${ctx.lineOf(key)}`;
      ctx.reportUnknownKey(keyPath(path, name), merge.key as Node, () => `${unknownKeyMessage(name, known)} (${from})`);
    } else {
      entries.set(name, { key, value: ctx.resolve(value) });
    }
  }
}

/**
 * Reads an optional sub-mapping such as `tls:`. Absent or empty (`tls:` with
 * every line commented out parses as null) both mean "all defaults".
 */
export function subSection(ctx: Ctx, parent: Section, name: string, known: readonly string[]): Section {
  const path = keyPath(parent.path, name);
  const entry = parent.entries.get(name);
  if (entry === undefined) return emptySection(path, parent.node);
  if (entry.value === null || (isScalar(entry.value) && entry.value.value === null)) return emptySection(path, entry.value ?? entry.key);
  // A non-mapping is reported by readSection; its keys then take their defaults.
  return readSection(ctx, entry.value, path, known) ?? emptySection(path, entry.value);
}

/** Checks `name` if present; the fallback when absent. Undefined means invalid (already reported). */
export function field<T>(ctx: Ctx, section: Section, name: string, check: Check<T>, fallback: T): T | undefined {
  const entry = section.entries.get(name);
  return entry === undefined ? fallback : checkEntry(ctx, section, name, entry, check);
}

/** Like `field`, but absence is itself a problem, reported at the enclosing mapping. */
export function requiredField<T>(ctx: Ctx, section: Section, name: string, check: Check<T>): T | undefined {
  const entry = section.entries.get(name);
  if (entry === undefined) {
    ctx.report(keyPath(section.path, name), section.node, 'required key is missing');
    return undefined;
  }
  return checkEntry(ctx, section, name, entry, check);
}

/**
 * Checks an optional sequence item by item; the fallback when absent. Each
 * bad item is reported at its own position (`allowHosts[1]`), so one typo in
 * a long list is easy to find. `what` names the items: "host names".
 */
export function listField<T>(ctx: Ctx, section: Section, name: string, what: string, check: Check<T>, fallback: readonly T[]): T[] | undefined {
  const entry = section.entries.get(name);
  if (entry === undefined) return [...fallback];
  const path = keyPath(section.path, name);
  const list = entry.value;
  if (ctx.alreadyReported(list)) return undefined;
  if (!isSeq(list)) {
    ctx.report(path, list ?? entry.key, `must be a sequence of ${what}, got ${describe(list)}`);
    return undefined;
  }
  const values: T[] = [];
  let valid = true;
  list.items.forEach((item, i) => {
    const value = ctx.resolve(item);
    if (ctx.alreadyReported(value)) {
      valid = false;
      return;
    }
    const result = check(value);
    if (result.ok) values.push(result.value);
    else {
      valid = false;
      // An aliased item (`- *cdn`) is reported where the alias is, not at its anchor.
      ctx.report(indexPath(path, i), isAlias(item) ? item : (value ?? list), result.message);
    }
  });
  return valid ? values : undefined;
}

function checkEntry<T>(ctx: Ctx, section: Section, name: string, entry: Entry, check: Check<T>): T | undefined {
  if (ctx.alreadyReported(entry.value)) return undefined;
  const result = check(entry.value);
  if (result.ok) return result.value;
  ctx.report(keyPath(section.path, name), entry.value ?? entry.key, result.message);
  return undefined;
}
