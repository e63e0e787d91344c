/**
 * `cache.tags.rules`: per-pattern overrides of `cache.tags.ttl`, as a list of `{ match, ttl }`
 * mappings read in order (the first match wins, so the order in the file is the precedence).
 */
import { isSeq } from 'yaml';
import { describe, duration, fail, fromString, ok, type Result } from './checks.js';
import type { Ctx } from './context.js';
import { indexPath, keyPath } from './paths.js';
import { CACHE_TAG_RULE_KEYS } from './schema.js';
import { readSection, requiredField, type Section } from './section.js';
import type { TagTtlRule } from './types.js';

// The characters of a repository name and a tag (distribution spec), ':' between them, and the wildcard.
const PATTERN = /^[A-Za-z0-9._\-/:*]+$/;

function parsePattern(text: string): Result<string> {
  if (PATTERN.test(text)) return ok(text);
  return fail(`must be a pattern over "repository:tag" of name and tag characters and "*", such as "library/*:latest", got ${JSON.stringify(text)}`);
}

/** The rules in file order; undefined when one is invalid (reported). */
export function readTagRules(ctx: Ctx, tags: Section): TagTtlRule[] | undefined {
  const entry = tags.entries.get('rules');
  if (entry === undefined) return [];
  const path = keyPath(tags.path, 'rules');
  const list = entry.value;
  if (ctx.alreadyReported(list)) return undefined;
  if (!isSeq(list)) {
    ctx.report(path, list ?? entry.key, `must be a sequence of { match, ttl } rules, got ${describe(list)}`);
    return undefined;
  }
  const rules: TagTtlRule[] = [];
  let valid = true;
  list.items.forEach((item, i) => {
    const section = readSection(ctx, ctx.resolve(item), indexPath(path, i), CACHE_TAG_RULE_KEYS);
    const match = section && requiredField(ctx, section, 'match', fromString('a string', parsePattern));
    const ttlMs = section && requiredField(ctx, section, 'ttl', duration('>= 0'));
    if (match === undefined || ttlMs === undefined) valid = false;
    else rules.push({ match, ttlMs });
  });
  return valid ? rules : undefined;
}
