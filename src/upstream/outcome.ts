/**
 * What one attempt at an upstream produced, short of an error (errors are UpstreamAttemptError).
 */
import type { CapturedResponse } from '../stream/sink.js';

export type AttemptOutcome =
  /** The response went to the sink in full. */
  | { readonly kind: 'relayed'; readonly status: number; readonly bytes: number }
  /** A status the caller declines (it would rather try another upstream), kept whole. */
  | { readonly kind: 'declined'; readonly response: CapturedResponse }
  /** A captured response that is the final answer as it stands (a redirect passed through). */
  | { readonly kind: 'answer'; readonly response: CapturedResponse };

export type RelayOutcome = Exclude<AttemptOutcome, { kind: 'answer' }>;
