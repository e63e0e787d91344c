/**
 * Durations in the config file are written as a single number and a unit
 * (`500ms`, `30s`, `1.5m`, `1h`). Compound forms (`1m30s`), spaces, signs and
 * bare numbers are refused on purpose: a bare `10` is ambiguous (seconds? ms?)
 * and is exactly the kind of typo the config validator exists to catch.
 */

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

/**
 * Parses `<number><unit>` into milliseconds, or returns undefined when `s` is
 * not such a duration. The result is rounded to whole milliseconds because
 * Node timers cannot do better; so `0.4ms` gives 0.
 */
export function parseDuration(s: string): number | undefined {
  const m = DURATION_RE.exec(s);
  if (m === null) return undefined;
  const ms = Math.round(Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]);
  // `99999999999999999999h` matches the pattern but is no usable number of ms.
  return Number.isSafeInteger(ms) ? ms : undefined;
}
