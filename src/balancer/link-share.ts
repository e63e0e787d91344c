/**
 * How much of its own time span each of several overlapping transfers had a link to itself:
 * every instant is split evenly among the transfers in progress then (processor sharing), so
 * the shares of transfers that overlapped add up to the time the link was busy, not to the sum
 * of their spans. Bytes over shared seconds is then the link's rate while busy, whether the
 * transfers came one after another or all at once.
 */

export interface Span {
  /** Milliseconds, any clock; `end` > `start`. */
  readonly start: number;
  readonly end: number;
}

/** Each span's shared milliseconds, in the order given. */
export function sharedMs(spans: readonly Span[]): number[] {
  const shares = spans.map(() => 0);
  // Each span opens and closes once; at the same instant, closes first (touching spans do not overlap).
  const events = spans.flatMap((span, i) => [
    { at: span.start, open: true, i },
    { at: span.end, open: false, i },
  ]);
  events.sort((a, b) => a.at - b.at || Number(a.open) - Number(b.open));
  const open = new Set<number>();
  let last = 0;
  for (const event of events) {
    if (open.size > 0) {
      const each = (event.at - last) / open.size;
      for (const i of open) shares[i]! += each;
    }
    last = event.at;
    if (event.open) open.add(event.i);
    else open.delete(event.i);
  }
  return shares;
}
