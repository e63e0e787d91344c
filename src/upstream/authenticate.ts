/**
 * The authentication step: a cached token (or Basic credentials) up front, and one answer to a
 * 401 challenge — a fresh token from the upstream's own token service — then the request again.
 * A second 401 fails the attempt: the upstream does not accept what we have.
 */
import { AuthenticationError, type UpstreamAuthenticator } from './auth/authenticator.js';
import { UpstreamAttemptError } from './errors.js';
import type { Exchange, Send, Step } from './exchange.js';
import type { AttemptOutcome } from './outcome.js';

const isChallenge = (outcome: AttemptOutcome): boolean => outcome.kind === 'declined' && outcome.response.status === 401;

export function authenticate(upstream: string, auth: UpstreamAuthenticator): Step {
  const fail = (cause: unknown): never => {
    throw new UpstreamAttemptError(upstream, 'auth', undefined, 0, { cause });
  };
  const answerChallenge = async (next: Send, exchange: Exchange, challenge: AttemptOutcome & { kind: 'declined' }): Promise<AttemptOutcome> => {
    exchange.authorization = await auth.answer(challenge.response.headers['www-authenticate'], exchange.scope, exchange.authorization).catch(fail);
    const outcome = await next(exchange);
    if (isChallenge(outcome)) fail(new AuthenticationError('upstream rejected a fresh token'));
    return outcome;
  };
  return (next) => (exchange) => {
    exchange.authorization = auth.preemptive(exchange.scope);
    return next(exchange).then((outcome) =>
      isChallenge(outcome) ? answerChallenge(next, exchange, outcome as AttemptOutcome & { kind: 'declined' }) : outcome,
    );
  };
}
