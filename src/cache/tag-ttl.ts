/**
 * How long a tag stays fresh: `cache.tags.rules` by pattern, first match wins, else
 * `cache.tags.ttl`. Patterns are globs over `repository:tag` as the client names them
 * (`library/alpine:3.20`): `*` matches any run of characters (none included, `/` and `:`
 * included), every other character only itself, and the whole string must match. Digest
 * references never get here: content named by digest is never revalidated.
 */
import type { TagTtlRule } from '../config/types.js';

export class TagTtls {
  readonly #rules: readonly { readonly pattern: RegExp; readonly ttlMs: number }[];

  constructor(
    private readonly defaultMs: number,
    rules: readonly TagTtlRule[] = [],
  ) {
    this.#rules = rules.map((rule) => ({ pattern: globPattern(rule.match), ttlMs: rule.ttlMs }));
  }

  ttlFor(repository: string, tag: string): number {
    const subject = `${repository}:${tag}`;
    return this.#rules.find((rule) => rule.pattern.test(subject))?.ttlMs ?? this.defaultMs;
  }
}

/** `library/*:1.*` → /^library\/.*:1\..*$/ (every regex character but `*` taken literally). */
export function globPattern(glob: string): RegExp {
  const literal = glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${literal.join('.*')}$`, 's');
}
