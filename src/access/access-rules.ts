/**
 * The `access.rules` list as a pure decision: the first rule whose registry and repository
 * patterns match decides who may pull; no match means nobody. Patterns are globs over the
 * repository name as the client sends it (`library/nginx`): `*` matches any run of characters,
 * `/` included, so `private/*` also covers `private/team/app` — a narrower reading would let a
 * deeper name fall through to a later, more open rule.
 */
import type { AccessAllow, AccessRule } from '../config/types.js';

interface CompiledRule {
  readonly index: number;
  readonly patterns: readonly RegExp[];
  readonly registries: readonly string[];
  readonly allow: AccessAllow;
}

/** `library/*` → /^library\/.*$/ (every regex character but `*` taken literally). */
function globPattern(glob: string): RegExp {
  const literal = glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${literal.join('.*')}$`, 's');
}

export class AccessRules {
  readonly #rules: readonly CompiledRule[];

  constructor(rules: readonly AccessRule[]) {
    this.#rules = rules.map((rule, index) => ({ index, patterns: rule.repositories.map(globPattern), registries: rule.registries, allow: rule.allow }));
  }

  /** The rule that decides for `repository` of `registry`, or undefined: no rule matches, nobody may pull it. */
  ruleFor(registry: string, repository: string): { readonly index: number; readonly allow: AccessAllow } | undefined {
    return this.#rules.find((rule) => (rule.registries.length === 0 || rule.registries.includes(registry)) && rule.patterns.some((p) => p.test(repository)));
  }

  /** Whether `user` (undefined: anonymous) may pull `repository` of `registry`. */
  allows(registry: string, repository: string, user: string | undefined): boolean {
    const rule = this.ruleFor(registry, repository);
    return rule !== undefined && permits(rule.allow, user);
  }
}

export function permits(allow: AccessAllow, user: string | undefined): boolean {
  return allow.anonymous || (user !== undefined && allow.users.includes(user));
}
