/** Reading Prometheus text exposition in tests. */

/** The values of every series of `name` whose labels include `labels` (Prometheus text format). */
function* samples(text: string, name: string, labels: Record<string, string>): Generator<number> {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const have = new Map<string, string>();
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have.set(pair[1]!, pair[2]!);
    if (Object.entries(labels).every(([key, value]) => have.get(key) === value)) yield Number(match[3]);
  }
}

/** The sum of every series of `name` whose labels include `labels`. */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const value of samples(text, name, labels)) sum += value;
  return sum;
}

/** Whether the exposition has a series of `name` whose labels include `labels` (at any value, 0 included). */
export function hasSeries(text: string, name: string, labels: Record<string, string> = {}): boolean {
  return samples(text, name, labels).next().done !== true;
}
