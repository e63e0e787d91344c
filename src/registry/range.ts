/**
 * One `Range: bytes=…` request header against a body of known size (RFC 9110 §14.1.2):
 * `first-last`, `first-` and the suffix form `-count`. Several ranges, other units and ranges
 * that start past the end are not answered here (undefined): whoever asked passes them on.
 */
export interface ByteRange {
  /** Both inclusive, within 0..size-1. */
  readonly first: number;
  readonly last: number;
}

const SINGLE = /^bytes=(\d*)-(\d*)$/;

export function parseByteRange(header: string, size: number): ByteRange | undefined {
  const match = SINGLE.exec(header.trim());
  if (match === null || size <= 0) return undefined;
  const [, from = '', to = ''] = match;
  if (from === '') {
    const count = Number(to);
    if (to === '' || count === 0) return undefined;
    return { first: Math.max(0, size - count), last: size - 1 };
  }
  const first = Number(from);
  const last = to === '' ? size - 1 : Math.min(Number(to), size - 1);
  return first <= last && first < size ? { first, last } : undefined;
}
