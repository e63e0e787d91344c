/**
 * The fault matrix (issue 13): every mirror fault × every request kind, one row each, with what
 * the client gets, what the faulty mirror is charged with and the state its breaker is left in.
 * A value that differs with the cache is written `{ relayed, cached }`.
 *
 * The setup each row runs in (helpers/cell.ts): a faulty mirror first in the balancer's order
 * and an honest one with the same content; `failover.maxAttempts: 2`; every upstream timeout
 * 1 s; `breaker: { volumeThreshold: 50, resetTimeout: 1h, quarantine: 1h }`, so one pull opens
 * the breaker only for what opens it at once (a 429, a quarantine). With the cache,
 * `parallel.minSize: 1MiB`: the 64 KiB blob is one request, the 2 MiB one comes in pieces.
 *
 * expect
 *   ok         the first pull gets the right bytes
 *   cut        the first answer is cut (its bytes already went out when the fault showed: a
 *              digest mismatch), never completed; the client's retry gets the right bytes
 *   unchecked  a documented limit: the answer is relayed as the mirror sent it (a todo assertion)
 *   n/a        meaningless: the row says why, and nothing runs
 * reason   the mirrorgate_failovers_total reason charged to the faulty mirror ('-': none; 'x?':
 *          x or none, and nothing else)
 * state    its breaker after the pull: closed, open (2), quarantined (open and
 *          mirrorgate_upstream_quarantined 1), any (depends on which mirror the retry reached)
 */
import type { Fault } from './helpers/content-mirror.js';
import type { Kind } from './helpers/cell.js';

export type Expect = 'ok' | 'cut' | 'unchecked' | 'n/a';
export type State = 'closed' | 'open' | 'quarantined' | 'any';
export type PerMode<T> = T | { readonly relayed: T; readonly cached: T };

export interface Row {
  readonly fault: Exclude<Fault, 'none'>;
  readonly kind: Kind;
  readonly expect: PerMode<Expect>;
  readonly reason: PerMode<string>;
  readonly state: PerMode<State>;
  readonly note?: string;
}

export function inMode<T>(value: PerMode<T>, cache: boolean): T {
  if (typeof value === 'object' && value !== null && 'relayed' in value) return cache ? value.cached : value.relayed;
  return value;
}

const NO_BODY = 'a HEAD answer has no body: a body fault cannot show (what its headers claim is checked for Content-Type only)';
const SLICE = 'a 206 is a slice no digest covers: relayed as sent; the client verifies the blob it assembles (docs/architecture.md, Never wrong bytes)';

// prettier-ignore
export const MATRIX: readonly Row[] = [
  // fault      kind       expect                                  reason                                      state
  { fault: 'refused',  kind: 'tag',    expect: 'ok',  reason: 'connect', state: 'closed' },
  { fault: 'refused',  kind: 'digest', expect: 'ok',  reason: 'connect', state: 'closed' },
  { fault: 'refused',  kind: 'head',   expect: 'ok',  reason: 'connect', state: 'closed' },
  { fault: 'refused',  kind: 'small',  expect: 'ok',  reason: 'connect', state: 'closed' },
  { fault: 'refused',  kind: 'big',    expect: 'ok',  reason: 'connect', state: 'closed' },
  { fault: 'refused',  kind: 'range',  expect: 'ok',  reason: 'connect', state: 'closed' },

  { fault: 'frozen',   kind: 'tag',    expect: 'ok',  reason: 'timeout', state: 'closed', note: 'headers never come: timeouts.headers' },
  { fault: 'frozen',   kind: 'digest', expect: 'ok',  reason: 'timeout', state: 'closed' },
  { fault: 'frozen',   kind: 'head',   expect: 'ok',  reason: 'timeout', state: 'closed' },
  { fault: 'frozen',   kind: 'small',  expect: 'ok',  reason: 'timeout', state: 'closed' },
  { fault: 'frozen',   kind: 'big',    expect: 'ok',  reason: 'timeout', state: 'closed' },
  { fault: 'frozen',   kind: 'range',  expect: 'ok',  reason: 'timeout', state: 'closed' },

  { fault: '500',      kind: 'tag',    expect: 'ok',  reason: '5xx',     state: 'closed' },
  { fault: '500',      kind: 'digest', expect: 'ok',  reason: '5xx',     state: 'closed' },
  { fault: '500',      kind: 'head',   expect: 'ok',  reason: '5xx',     state: 'closed' },
  { fault: '500',      kind: 'small',  expect: 'ok',  reason: '5xx',     state: 'closed' },
  { fault: '500',      kind: 'big',    expect: 'ok',  reason: '5xx',     state: 'closed' },
  { fault: '500',      kind: 'range',  expect: 'ok',  reason: '5xx',     state: 'closed' },

  { fault: '429',      kind: 'tag',    expect: 'ok',  reason: 'ratelimit', state: 'open', note: 'a 429 opens the breaker at once, for its Retry-After' },
  { fault: '429',      kind: 'digest', expect: 'ok',  reason: 'ratelimit', state: 'open' },
  { fault: '429',      kind: 'head',   expect: 'ok',  reason: 'ratelimit', state: 'open' },
  { fault: '429',      kind: 'small',  expect: 'ok',  reason: 'ratelimit', state: 'open' },
  { fault: '429',      kind: 'big',    expect: 'ok',  reason: 'ratelimit', state: 'open' },
  { fault: '429',      kind: 'range',  expect: 'ok',  reason: 'ratelimit', state: 'open' },

  { fault: 'reset',    kind: 'tag',    expect: 'ok',  reason: 'reset',   state: 'closed', note: 'a manifest is held whole: nothing reached the client, so it fails over' },
  { fault: 'reset',    kind: 'digest', expect: 'ok',  reason: 'reset',   state: 'closed' },
  { fault: 'reset',    kind: 'head',   expect: 'n/a', reason: '-',       state: 'closed', note: NO_BODY },
  { fault: 'reset',    kind: 'small',  expect: 'ok',  reason: 'reset',   state: 'closed', note: 'resumed at the honest mirror with a Range' },
  { fault: 'reset',    kind: 'big',    expect: 'ok',  reason: 'reset',   state: 'closed' },
  { fault: 'reset',    kind: 'range',  expect: 'ok',  reason: 'reset',   state: 'closed' },

  { fault: 'stall',    kind: 'tag',    expect: 'ok',  reason: 'timeout', state: 'closed', note: 'silence mid-body: timeouts.idle' },
  { fault: 'stall',    kind: 'digest', expect: 'ok',  reason: 'timeout', state: 'closed' },
  { fault: 'stall',    kind: 'head',   expect: 'n/a', reason: '-',       state: 'closed', note: NO_BODY },
  { fault: 'stall',    kind: 'small',  expect: 'ok',  reason: 'timeout', state: 'closed' },
  { fault: 'stall',    kind: 'big',    expect: 'ok',  reason: { relayed: 'timeout', cached: 'timeout?' }, state: 'closed', note: 'cached: the honest mirror steals the silent rest of a piece; whether one stalled piece is left to timeouts.idle first depends on the timing of the steals' },
  { fault: 'stall',    kind: 'range',  expect: 'ok',  reason: 'timeout', state: 'closed' },

  { fault: 'corrupt',  kind: 'tag',    expect: 'ok',  reason: 'digest',  state: 'quarantined', note: "the bytes are held to the mirror's own Docker-Content-Digest" },
  { fault: 'corrupt',  kind: 'digest', expect: 'ok',  reason: 'digest',  state: 'quarantined' },
  { fault: 'corrupt',  kind: 'head',   expect: 'n/a', reason: '-',       state: 'closed', note: NO_BODY },
  { fault: 'corrupt',  kind: 'small',  expect: 'cut', reason: 'digest',  state: 'quarantined', note: 'a blob streams: the mismatch shows at its last byte, held back, so the client is cut' },
  { fault: 'corrupt',  kind: 'big',    expect: 'cut', reason: 'digest',  state: { relayed: 'quarantined', cached: 'any' }, note: 'cached: pieces from both mirrors cannot say which lied; the next fill is single-stream' },
  { fault: 'corrupt',  kind: 'range',  expect: 'unchecked', reason: '-', state: 'closed', note: SLICE },

  { fault: 'short',    kind: 'tag',    expect: 'ok',  reason: 'reset',   state: 'closed', note: 'a clean FIN short of Content-Length' },
  { fault: 'short',    kind: 'digest', expect: 'ok',  reason: 'reset',   state: 'closed' },
  { fault: 'short',    kind: 'head',   expect: 'n/a', reason: '-',       state: 'closed', note: NO_BODY },
  { fault: 'short',    kind: 'small',  expect: 'ok',  reason: 'reset',   state: 'closed' },
  { fault: 'short',    kind: 'big',    expect: 'ok',  reason: 'reset',   state: 'closed' },
  { fault: 'short',    kind: 'range',  expect: 'ok',  reason: 'reset',   state: 'closed' },

  { fault: 'long',     kind: 'tag',    expect: 'ok',  reason: 'bad_manifest', state: 'closed', note: '16 bytes after the JSON, counted in Content-Length' },
  { fault: 'long',     kind: 'digest', expect: 'ok',  reason: 'bad_manifest', state: 'closed' },
  { fault: 'long',     kind: 'head',   expect: 'n/a', reason: '-',       state: 'closed', note: NO_BODY },
  { fault: 'long',     kind: 'small',  expect: { relayed: 'cut', cached: 'ok' }, reason: { relayed: 'digest', cached: 'reset' }, state: { relayed: 'quarantined', cached: 'closed' }, note: "cached: the fill's first request is a Range, whose 206 has a Content-Length that is not its Content-Range's: refused, failed over" },
  { fault: 'long',     kind: 'big',    expect: { relayed: 'cut', cached: 'ok' }, reason: { relayed: 'digest', cached: 'reset' }, state: { relayed: 'quarantined', cached: 'closed' }, note: 'cached: the lying mirror is dropped from the parallel fill at its first 206' },
  { fault: 'long',     kind: 'range',  expect: 'ok',  reason: 'reset',   state: 'closed', note: "a 206 whose Content-Length is not its Content-Range's length is refused at its headers" },

  { fault: 'html',     kind: 'tag',    expect: 'ok',  reason: 'bad_manifest', state: 'closed', note: 'issue 13 item 1: never served as a manifest' },
  { fault: 'html',     kind: 'digest', expect: 'ok',  reason: 'bad_manifest', state: 'closed' },
  { fault: 'html',     kind: 'head',   expect: 'ok',  reason: 'bad_manifest', state: 'closed', note: 'its Content-Type is checked' },
  { fault: 'html',     kind: 'small',  expect: 'ok',  reason: 'bad_blob', state: 'closed', note: 'refused at its headers (text/html is no blob), not found out by its digest after they went out' },
  { fault: 'html',     kind: 'big',    expect: 'ok',  reason: 'bad_blob', state: 'closed' },
  { fault: 'html',     kind: 'range',  expect: 'ok',  reason: 'bad_blob', state: 'closed' },

  { fault: 'redirect', kind: 'tag',    expect: 'ok',  reason: 'redirect', state: 'closed', note: 'a 307 to 127.0.0.1: refused by the address guard; that server is never asked' },
  { fault: 'redirect', kind: 'digest', expect: 'ok',  reason: 'redirect', state: 'closed' },
  { fault: 'redirect', kind: 'head',   expect: 'ok',  reason: 'redirect', state: 'closed' },
  { fault: 'redirect', kind: 'small',  expect: 'ok',  reason: 'redirect', state: 'closed' },
  { fault: 'redirect', kind: 'big',    expect: 'ok',  reason: 'redirect', state: 'closed' },
  { fault: 'redirect', kind: 'range',  expect: 'ok',  reason: 'redirect', state: 'closed' },
];
