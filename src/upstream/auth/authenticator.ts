/**
 * Authenticates mirrorgate to ONE upstream, as a registry client would: answers its `Bearer`
 * challenges with tokens from its own token service (cached per scope), or its `Basic`
 * challenges with the configured credentials. A token is only valid at the service that issued
 * it, which is why this lives per upstream and clients never see an upstream's challenge.
 */
import { readFile } from 'node:fs/promises';
import type { Dispatcher } from 'undici';
import type { AuthConfig } from '../../config/types.js';
import { parseChallenges } from '../../registry/challenge.js';
import { TokenCache } from './token-cache.js';
import { fetchToken, TokenFetchError } from './token-client.js';

const PASSWORD_FILE_TTL_MS = 30_000;

export class AuthenticationError extends Error {
  readonly code = 'UPSTREAM_AUTH_FAILED';
}

export interface AuthenticatorOptions {
  readonly credentials?: AuthConfig;
  /** Carries token requests to the realm (any host: auth.docker.io, the registry itself...). */
  readonly dispatcher: Dispatcher;
  readonly userAgent: string;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  /** Told how long each token fetch from the token service took, in seconds (`mirrorgate probe`). */
  readonly onTokenFetched?: (seconds: number) => void;
}

export class UpstreamAuthenticator {
  readonly #options: AuthenticatorOptions;
  readonly #tokens = new TokenCache();
  /** Set once the upstream has accepted a Basic challenge answer: every request carries it up front. */
  #basic: string | undefined;
  /** The password file's content, re-read at most every PASSWORD_FILE_TTL_MS. */
  #filePassword: { value: string; readAtMs: number } | undefined;

  constructor(options: AuthenticatorOptions) {
    this.#options = options;
  }

  /**
   * The Authorization to send up front for `scope`, from what earlier challenges taught us.
   * Synchronous: it runs on every request.
   */
  preemptive(scope: string): string | undefined {
    if (this.#basic !== undefined) return this.#basic;
    const token = this.#tokens.peek(scope);
    return token === undefined ? undefined : `Bearer ${token}`;
  }

  /**
   * The Authorization answering the upstream's 401 challenge for `scope`. `rejected` is what
   * the 401 was a reply to: a cached token the registry no longer accepts is dropped first.
   */
  async answer(challengeHeader: string | string[] | undefined, scope: string, rejected: string | undefined): Promise<string> {
    const challenges = parseChallenges(challengeHeader);
    const bearer = challenges.find((challenge) => challenge.scheme === 'bearer');
    if (bearer !== undefined) {
      if (rejected?.startsWith('Bearer ')) this.#tokens.reject(scope, rejected.slice('Bearer '.length));
      const realm = bearer.params['realm'];
      if (realm === undefined) throw new AuthenticationError('Bearer challenge without a realm');
      // The registry names the scope it wants; ours is the fallback (the spec makes it optional).
      const wanted = bearer.params['scope'] ?? scope;
      const token = await this.#tokens
        .get(wanted, () => this.#fetch(realm, bearer.params['service'], wanted))
        .catch((err: unknown) => {
          throw new AuthenticationError(err instanceof TokenFetchError ? err.message : `token fetch failed: ${(err as Error).message}`, { cause: err });
        });
      return `Bearer ${token}`;
    }
    if (challenges.some((challenge) => challenge.scheme === 'basic')) {
      const header = await this.#basicHeader();
      if (header === undefined) throw new AuthenticationError('upstream wants Basic credentials and none are configured');
      if (rejected === header) throw new AuthenticationError('upstream rejected the configured Basic credentials');
      this.#basic = header;
      return header;
    }
    throw new AuthenticationError(challenges.length === 0 ? '401 without a challenge' : `unsupported challenge ${challenges[0]!.scheme}`);
  }

  async #fetch(realm: string, service: string | undefined, scope: string) {
    const started = performance.now();
    const token = await fetchToken(this.#options.dispatcher, {
      realm,
      scope,
      ...(service === undefined ? {} : { service }),
      ...(this.#options.credentials === undefined ? {} : { basicAuthorization: await this.#basicHeader() }),
      userAgent: this.#options.userAgent,
      headersTimeoutMs: this.#options.headersTimeoutMs,
      bodyTimeoutMs: this.#options.bodyTimeoutMs,
    });
    this.#options.onTokenFetched?.((performance.now() - started) / 1000);
    return token;
  }

  async #basicHeader(): Promise<string | undefined> {
    const credentials = this.#options.credentials;
    if (credentials === undefined) return undefined;
    const password = credentials.password ?? (await this.#readPasswordFile(credentials.passwordFile!));
    return `Basic ${Buffer.from(`${credentials.username}:${password}`).toString('base64')}`;
  }

  /**
   * Re-read now and then, not per request (Basic upstreams send it with every request), so that
   * a rotated secret file (Kubernetes Secret, Vault agent) takes effect without a reload.
   */
  async #readPasswordFile(file: string): Promise<string> {
    const cached = this.#filePassword;
    if (cached !== undefined && Date.now() - cached.readAtMs < PASSWORD_FILE_TTL_MS) return cached.value;
    const content = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new AuthenticationError(`cannot read passwordFile (${err.code ?? 'error'})`);
    });
    const value = content.replace(/\r?\n$/, '');
    this.#filePassword = { value, readAtMs: Date.now() };
    return value;
  }
}
