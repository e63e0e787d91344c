/**
 * The weights `mirrorgate probe` suggests for one registry's mirrors, from what it measured.
 * Pure. A primary mirror that answered at least one round gets a weight in proportion to its
 * measured throughput, as small integers whose shares stay close to the measured ones; a mirror
 * that answered no round gets none (the report drains it); a backup keeps its configured weight
 * (it takes traffic only when no primary can, so a share among primaries means nothing for it).
 */

export interface MeasuredMirror {
  readonly name: string;
  readonly backup: boolean;
  /** Successful rounds ÷ rounds. */
  readonly success: number;
  /** Median throughput of its successful rounds; undefined when no throughput was measured. */
  readonly mibPerS?: number | undefined;
}

export type WeightNote = 'down' | 'flaky' | 'backup' | 'unmeasured';

export interface SuggestedWeight {
  readonly name: string;
  /** undefined: no suggestion (down, backup, or no throughput measured). */
  readonly weight: number | undefined;
  readonly note?: WeightNote;
}

/** The largest weight suggested: small integers are what people write in YAML. */
export const MAX_WEIGHT = 10;
/**
 * The smallest scale whose shares are all within this many points of the measured ones wins
 * (absolute, not relative: a 4 % share cannot be hit within 10 % of itself by integers up to 10).
 */
const SHARE_TOLERANCE = 0.02;

export function suggestWeights(mirrors: readonly MeasuredMirror[]): SuggestedWeight[] {
  const rated = mirrors.filter((m) => !m.backup && m.success > 0 && m.mibPerS !== undefined && m.mibPerS > 0);
  const weights = integerWeights(rated.map((m) => m.mibPerS!));
  return mirrors.map((m) => {
    const at = rated.indexOf(m);
    if (at !== -1) return m.success < 1 ? { name: m.name, weight: weights[at], note: 'flaky' } : { name: m.name, weight: weights[at] };
    if (m.backup) return { name: m.name, weight: undefined, note: 'backup' };
    if (m.success === 0) return { name: m.name, weight: undefined, note: 'down' };
    return { name: m.name, weight: undefined, note: 'unmeasured' };
  });
}

/**
 * Integers in proportion to `rates`, each at least 1 and at most MAX_WEIGHT: the fastest gets
 * the smallest scale at which every share is within SHARE_TOLERANCE of its measured share
 * (60/40/20 → 3/2/1, 70/30 → 5/2), or the scale that comes closest; common factors are divided out.
 */
export function integerWeights(rates: readonly number[]): number[] {
  if (rates.length === 0) return [];
  const top = Math.max(...rates);
  const total = rates.reduce((a, r) => a + r, 0);
  let best: { weights: number[]; error: number } | undefined;
  for (let scale = 1; scale <= MAX_WEIGHT; scale++) {
    const weights = rates.map((r) => Math.max(1, Math.round((scale * r) / top)));
    const sum = weights.reduce((a, w) => a + w, 0);
    const error = Math.max(...rates.map((r, i) => Math.abs(weights[i]! / sum - r / total)));
    if (best === undefined || error < best.error - 1e-9) best = { weights, error };
    if (error <= SHARE_TOLERANCE) break;
  }
  const divisor = best!.weights.reduce(gcd);
  return best!.weights.map((w) => w / divisor);
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
