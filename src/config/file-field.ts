/** Path-valued keys (`tls.ca`, `auth.passwordFile`): read like any string, then recorded for the file checks (see file-references.ts). */
import { nonEmptyString } from './checks.js';
import type { Ctx } from './context.js';
import type { FileKind } from './file-references.js';
import { keyPath } from './paths.js';
import { field, type Section } from './section.js';

/**
 * An optional path-valued key: a non-empty string, recorded in `ctx.files`
 * and returned resolved. Undefined when absent or invalid (already reported).
 */
export function fileField(ctx: Ctx, section: Section, name: string, kind: FileKind): string | undefined {
  const value = field<string | undefined>(ctx, section, name, nonEmptyString, undefined);
  const entry = section.entries.get(name);
  if (value === undefined || entry === undefined) return undefined;
  return ctx.referFile(keyPath(section.path, name), entry.value ?? entry.key, kind, value);
}
