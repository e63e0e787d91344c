/**
 * Checks for single values. Each takes the value node and either returns the
 * converted value or a message saying what was expected and what was found,
 * e.g. `must be an integer >= 0, got string "five"`.
 *
 * YAML types are taken at face value: `weight: "5"` is a string and is
 * rejected, because silently coercing would also accept `weight: "5x"`-style
 * mistakes in some places and not others.
 */
import { isMap, isScalar, isSeq } from 'yaml';
import type { ValueNode } from './value-node.js';
import { parseDuration } from './duration.js';

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

export type Check<T> = (node: ValueNode) => Result<T>;

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = <T = never>(message: string): Result<T> => ({ ok: false, message });

/** How a value is named in "got ..." — strings are quoted and labelled so `"5"` and `5` read differently. */
export function describe(node: ValueNode): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a sequence';
  const value: unknown = isScalar(node) ? node.value : null;
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return `string ${JSON.stringify(value)}`;
  if (typeof value === 'object') return `a ${(node as { tag?: string }).tag ?? 'tagged'} value`; // e.g. !!binary
  return String(value as number | boolean | bigint);
}

export const expected = <T = never>(what: string, node: ValueNode): Result<T> => fail(`must be ${what}, got ${describe(node)}`);

export function scalarValue(node: ValueNode): unknown {
  return isScalar(node) ? node.value : undefined;
}

export function integer(min: number): Check<number> {
  return (node) => {
    const v = scalarValue(node);
    return typeof v === 'number' && Number.isSafeInteger(v) && v >= min ? ok(v) : expected(`an integer >= ${min}`, node);
  };
}

export function numberBetween(min: number, max: number): Check<number> {
  return (node) => {
    const v = scalarValue(node);
    return typeof v === 'number' && v >= min && v <= max ? ok(v) : expected(`a number from ${min} to ${max}`, node);
  };
}

export const boolean: Check<boolean> = (node) => {
  const v = scalarValue(node);
  return typeof v === 'boolean' ? ok(v) : expected('true or false', node);
};

export const nonEmptyString: Check<string> = (node) => {
  const v = scalarValue(node);
  return typeof v === 'string' && v !== '' ? ok(v) : expected('a non-empty string', node);
};

export function oneOf<T extends string>(values: readonly T[]): Check<T> {
  return (node) => {
    const v = scalarValue(node);
    return typeof v === 'string' && (values as readonly string[]).includes(v) ? ok(v as T) : expected(`one of ${values.join(', ')}`, node);
  };
}

/** Node's setTimeout fires immediately (with a warning) for delays above 2^31-1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A duration string (`30s`) in milliseconds; `bound` says whether zero is allowed. */
export function duration(bound: '> 0' | '>= 0'): Check<number> {
  return (node) => {
    const v = scalarValue(node);
    const ms = typeof v === 'string' ? parseDuration(v) : undefined;
    if (ms === undefined || (bound === '> 0' && ms === 0)) {
      return expected(`a duration ${bound} such as "500ms", "30s", "5m" or "1h"`, node);
    }
    if (ms > MAX_TIMER_MS) return expected(`at most ${MAX_TIMER_MS}ms (about 24.8 days; Node timers overflow beyond that)`, node);
    return ok(ms);
  };
}

/** Runs `convert` on a string value; anything but a string is refused with `what`. */
export function fromString<T>(what: string, convert: (s: string) => Result<T>): Check<T> {
  return (node) => {
    const v = scalarValue(node);
    return typeof v === 'string' ? convert(v) : expected(what, node);
  };
}
