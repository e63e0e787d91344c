/**
 * `${VAR}` substitution in string scalars, so secrets and per-host values can
 * come from the environment instead of being written into the file.
 *
 * Rules:
 *  - `${NAME}` (NAME = [A-Za-z_][A-Za-z0-9_]*) is replaced by the variable's
 *    value; an empty value counts as set, an unset one is a problem.
 *  - `$${` is an escape that produces a literal `${`, so `$${HOME}` yields
 *    the text `${HOME}` (needed e.g. for a path that really contains `${`).
 *  - Any other `$` is kept as is, so passwords/paths with `$` need no escaping.
 *  - Substituted values are inserted verbatim and never expanded again, so a
 *    value containing `${X}` cannot pull in further variables.
 *  - Only values are substituted, never mapping keys, and the result is
 *    always a string: `weight: ${W}` yields the string "5", not the number 5,
 *    and is then rejected like any other string weight.
 */
import { isMap, isScalar, isSeq, type Node } from 'yaml';
import { keyName } from './merge-keys.js';
import { indexPath, keyPath } from './paths.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface Expansion {
  readonly value: string;
  /** One message per bad or unset reference; empty when the expansion succeeded. */
  readonly problems: readonly string[];
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Expands the references in one string. */
export function expandEnv(text: string, env: Env): Expansion {
  let value = '';
  const problems: string[] = [];
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf('$', i);
    if (dollar === -1) {
      value += text.slice(i);
      break;
    }
    value += text.slice(i, dollar);
    if (text.startsWith('$${', dollar)) {
      value += '${';
      i = dollar + 3;
      continue;
    }
    if (!text.startsWith('${', dollar)) {
      value += '$';
      i = dollar + 1;
      continue;
    }
    const close = text.indexOf('}', dollar + 2);
    if (close === -1) {
      problems.push('unterminated "${" (write "$${" for a literal "${")');
      value += text.slice(dollar);
      break;
    }
    const name = text.slice(dollar + 2, close);
    const replacement = NAME_RE.test(name) ? env[name] : undefined;
    if (replacement !== undefined) value += replacement;
    else if (NAME_RE.test(name)) problems.push(`environment variable ${name} is not set`);
    else problems.push(`invalid environment variable name ${JSON.stringify(name)}`);
    i = close + 1;
  }
  return { value, problems };
}

export type EnvReport = (path: string, node: Node, message: string) => void;

/**
 * Substitutes in place in every string scalar value under `root` (the whole
 * document, known keys or not). Returns the scalars whose expansion failed:
 * their problem is already reported, so the validator should not pile a
 * second, confusing type error on top.
 */
export function substituteEnv(root: Node | null, env: Env, report: EnvReport): ReadonlySet<Node> {
  const failed = new Set<Node>();
  const walk = (node: unknown, path: string): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? keyName(pair.key) : '?';
        walk(pair.value, keyPath(path, key));
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, indexPath(path, i)));
    } else if (isScalar(node) && typeof node.value === 'string') {
      const { value, problems } = expandEnv(node.value, env);
      for (const message of problems) report(path, node, message);
      if (problems.length > 0) failed.add(node);
      else node.value = value;
    }
    // Aliases are skipped: the anchored node they point to is visited where it is defined.
  };
  walk(root, '');
  return failed;
}
