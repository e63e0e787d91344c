/**
 * An upstream's `auth:`: a username and exactly one of `password` (usually
 * `${VAR}`) or `passwordFile`. The password is a secret, so no problem
 * reported here shows its value: not the check on `password` itself, and
 * not the one on `auth:`, because `auth: <the password>` is the likeliest
 * way to get that one wrong.
 */
import { isMap, isScalar } from 'yaml';
import { fail, nonEmptyString, ok, scalarValue, type Check } from './checks.js';
import type { Ctx } from './context.js';
import { fileField } from './file-field.js';
import { keyPath } from './paths.js';
import { AUTH_KEYS } from './schema.js';
import { field, readSection, requiredField, type Section } from './section.js';
import type { AuthConfig } from './types.js';

/** Like nonEmptyString, without the "got ..." that would echo the value. */
const secret: Check<string> = (node) => {
  const v = scalarValue(node);
  if (typeof v !== 'string') return fail('must be a string');
  return v === '' ? fail('must not be empty') : ok(v);
};

/** Undefined when the upstream has no `auth:` (or an empty one, like any empty section) or it was reported. */
export function readAuth(ctx: Ctx, upstream: Section): AuthConfig | undefined {
  const entry = upstream.entries.get('auth');
  if (entry === undefined || entry.value === null || (isScalar(entry.value) && entry.value.value === null)) return undefined;
  if (ctx.alreadyReported(entry.value)) return undefined;
  const path = keyPath(upstream.path, 'auth');
  if (!isMap(entry.value)) {
    ctx.report(path, entry.value, 'must be a mapping with username and password or passwordFile');
    return undefined;
  }
  const s = readSection(ctx, entry.value, path, AUTH_KEYS);
  if (s === undefined) return undefined;
  const username = requiredField(ctx, s, 'username', nonEmptyString);
  const password = field<string | undefined>(ctx, s, 'password', secret, undefined);
  const passwordFile = fileField(ctx, s, 'passwordFile', 'passwordFile');
  const fileKey = s.entries.get('passwordFile')?.key;
  if (s.entries.has('password') && fileKey !== undefined) {
    ctx.report(keyPath(path, 'passwordFile'), fileKey, 'cannot be combined with password; set exactly one of them');
  } else if (!s.entries.has('password') && fileKey === undefined) {
    ctx.report(path, s.node, 'needs password or passwordFile');
  }
  return {
    username: username ?? '',
    ...(password !== undefined && { password }),
    ...(passwordFile !== undefined && { passwordFile }),
  };
}
