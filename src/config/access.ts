/**
 * `access:` — who may pull what (issue 11 §2). Users come from an htpasswd file; each rule names
 * repositories by glob and who may pull them (`anonymous`: anyone, or a list of users); the first
 * rule whose patterns match the repository decides, and a repository no rule matches is refused.
 * `networks` limits the registry API to client addresses in those CIDRs. Without `access:` the
 * gateway stays open, as before.
 */
import { isIP } from 'node:net';
import { isScalar, isSeq } from 'yaml';
import { describe, fail, fromString, nonEmptyString, ok, scalarValue, type Check, type Result } from './checks.js';
import type { Ctx } from './context.js';
import { fileField } from './file-field.js';
import { indexPath, keyPath } from './paths.js';
import { ACCESS_KEYS, ACCESS_RULE_KEYS } from './schema.js';
import { listField, readSection, subSection, type Section } from './section.js';
import type { AccessAllow, AccessConfig, AccessRule } from './types.js';

// Repository name characters (distribution spec) and the wildcard.
const PATTERN = /^[a-z0-9._\-/*]+$/;

const repositoryPattern = fromString('a repository pattern', (text): Result<string> => {
  if (PATTERN.test(text)) return ok(text);
  return fail(`must be a pattern of repository name characters and "*", such as "library/*", got ${JSON.stringify(text)}`);
});

/** `10.0.0.0/8`, `2001:db8::/32`, or a bare address (one host). */
export function parseCidr(text: string): Result<string> {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const version = isIP(address);
  const bits = slash === -1 ? (version === 6 ? 128 : 32) : /^\d{1,3}$/.test(text.slice(slash + 1)) ? Number(text.slice(slash + 1)) : NaN;
  if (version === 0 || !(bits <= (version === 6 ? 128 : 32)))
    return fail(`must be an address or CIDR such as "10.0.0.0/8" or "fd00::/8", got ${JSON.stringify(text)}`);
  return ok(slash === -1 ? `${address}/${bits}` : text);
}

const ALLOW_EXPECTED = '"anonymous" or a list of user names from access.htpasswd';

const allow: Check<AccessAllow> = (node) => {
  if (scalarValue(node) === 'anonymous') return ok({ anonymous: true });
  if (!isSeq(node)) return fail(`must be ${ALLOW_EXPECTED}, got ${describe(node)}`);
  const users: string[] = [];
  for (const item of node.items) {
    const user = isScalar(item) ? item.value : undefined;
    if (typeof user !== 'string' || user === '' || user.includes(':')) return fail(`must be ${ALLOW_EXPECTED}; each user a non-empty name without ":"`);
    users.push(user);
  }
  if (users.length === 0) return fail(`must be ${ALLOW_EXPECTED}, got an empty sequence (a rule nobody may use)`);
  return ok({ anonymous: false, users });
};

/** Undefined when the file has no `access:`. `served`: the registries the config serves, for `rules[].registries`. */
export function readAccess(ctx: Ctx, root: Section, served: readonly string[]): AccessConfig | undefined {
  if (!root.entries.has('access')) return undefined;
  const s = subSection(ctx, root, 'access', ACCESS_KEYS);
  const htpasswd = fileField(ctx, s, 'htpasswd', 'htpasswd');
  const rules = readRules(ctx, s, served);
  if (htpasswd === undefined && !s.entries.has('htpasswd')) {
    const named = rules.findIndex((rule) => !rule.allow.anonymous);
    if (named !== -1) ctx.report(indexPath('access.rules', named), s.node, 'names users, so access.htpasswd is required (where their passwords are)');
  }
  return {
    ...(htpasswd !== undefined && { htpasswd }),
    rules,
    networks: listField(ctx, s, 'networks', 'addresses or CIDRs', fromString('a CIDR', parseCidr), []) ?? [],
  };
}

function readRules(ctx: Ctx, access: Section, served: readonly string[]): AccessRule[] {
  const path = keyPath(access.path, 'rules');
  const entry = access.entries.get('rules');
  if (entry === undefined) {
    ctx.report(path, access.node, 'required key is missing');
    return [];
  }
  const list = entry.value;
  if (ctx.alreadyReported(list)) return [];
  if (!isSeq(list)) {
    ctx.report(path, list ?? entry.key, `must be a sequence of { repositories, allow } rules, got ${describe(list)}`);
    return [];
  }
  const registry: Check<string> = (node) => {
    const name = nonEmptyString(node);
    if (!name.ok || served.includes(name.value)) return name;
    return fail(`must be a registry this config serves (${served.join(', ')}), got ${describe(node)}`);
  };
  const rules: AccessRule[] = [];
  list.items.forEach((item, i) => {
    const rulePath = indexPath(path, i);
    const section = readSection(ctx, ctx.resolve(item), rulePath, ACCESS_RULE_KEYS);
    if (section === undefined) return;
    const repositories = requiredList(ctx, section, 'repositories', 'repository patterns', repositoryPattern);
    const registries = listField(ctx, section, 'registries', 'registry names', registry, []);
    const allowEntry = section.entries.get('allow');
    if (allowEntry === undefined) ctx.report(keyPath(rulePath, 'allow'), section.node, 'required key is missing');
    const allowed = allowEntry === undefined || ctx.alreadyReported(allowEntry.value) ? undefined : allow(allowEntry.value);
    if (allowed !== undefined && !allowed.ok) ctx.report(keyPath(rulePath, 'allow'), allowEntry?.value ?? allowEntry?.key, allowed.message);
    if (repositories !== undefined && registries !== undefined && allowed?.ok === true) rules.push({ repositories, registries, allow: allowed.value });
  });
  return rules;
}

/** A list key that must be there and hold at least one item. */
function requiredList<T>(ctx: Ctx, section: Section, name: string, what: string, check: Check<T>): T[] | undefined {
  const where = keyPath(section.path, name);
  const entry = section.entries.get(name);
  if (entry === undefined) {
    ctx.report(where, section.node, 'required key is missing');
    return undefined;
  }
  const values = listField(ctx, section, name, what, check, []);
  if (values !== undefined && values.length === 0) {
    ctx.report(where, entry.value ?? entry.key, `must list at least one of the ${what}, got an empty sequence`);
    return undefined;
  }
  return values;
}
