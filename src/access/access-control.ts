/**
 * Who may pull what (issue 11 §2), decided before anything (cache or upstream) is consulted:
 *   1. `networks`: a client address outside them is refused (DENIED).
 *   2. The `/v2/` check: 200 to verified credentials, else 401 with the Basic challenge, so that
 *      `docker login` can tell a right password from a wrong one and clients learn to send theirs.
 *   3. A repository: the first rule that matches decides. `anonymous` lets anyone in; a list
 *      of users wants verified credentials of one of them: none or wrong ones get 401 and the
 *      challenge, a verified user not on the list 403 DENIED. No matching rule: 403 for everyone.
 * Credentials that do not verify are ignored where anonymous is allowed: dockerd sends its
 * Docker Hub login to every mirror (PROTOCOL.md), and a public pull must not fail on it.
 *
 * The decision carries a `reader` for the cache: what this client may read, judged by the same
 * rules, so a cached copy fetched under another repository goes only to who may read that one.
 */
import { BlockList, isIPv4 } from 'node:net';
import type { AccessConfig } from '../config/types.js';
import type { RepositoryReader } from '../cache/blob-sources.js';
import { AccessRules, permits } from './access-rules.js';
import { parseBasic } from './basic-credentials.js';
import type { HtpasswdUsers } from './htpasswd-users.js';

/** Why a request was refused: the `reason` label of mirrorgate_access_denied_total. */
export type DenyReason = 'network' | 'no_credentials' | 'bad_credentials' | 'not_allowed' | 'no_rule';

export type AccessDecision =
  | { readonly ok: true; readonly user: string | undefined; readonly reader: RepositoryReader }
  | {
      readonly ok: false;
      readonly code: 'UNAUTHORIZED' | 'DENIED';
      readonly reason: DenyReason;
      /** The user the credentials named (verified or not), for the log line; never the password. */
      readonly user: string | undefined;
      readonly message: string;
    };

export interface AccessRequest {
  /** The client's address as the socket has it (`::ffff:10.0.0.1` is taken as 10.0.0.1). */
  readonly address: string | undefined;
  readonly authorization: string | undefined;
  /** Absent: the `/v2/` check. */
  readonly repository?: { readonly registry: string; readonly name: string };
}

/** The challenge every 401 carries (RFC 7617); clients answer it with Basic credentials. */
export const BASIC_CHALLENGE = 'Basic realm="mirrorgate"';

export class AccessControl {
  readonly #rules: AccessRules;
  readonly #networks: BlockList | undefined;

  constructor(
    config: AccessConfig,
    private readonly users: HtpasswdUsers | undefined,
  ) {
    this.#rules = new AccessRules(config.rules);
    this.#networks = config.networks.length === 0 ? undefined : blockListOf(config.networks);
  }

  check(request: AccessRequest): AccessDecision | Promise<AccessDecision> {
    const credentials = parseBasic(request.authorization);
    const named = credentials?.user;
    if (this.#networks !== undefined && !inNetworks(this.#networks, request.address)) {
      return deny('DENIED', 'network', named, 'your address may not pull from this mirror');
    }
    if (credentials === undefined) return this.#decide(request, undefined, undefined);
    const verified = this.users?.verify(credentials.user, credentials.password) ?? false;
    return typeof verified === 'boolean' ? this.#decide(request, named, verified) : verified.then((ok) => this.#decide(request, named, ok));
  }

  /** `named`: the user the credentials name; `verified`: whether its password was right (undefined: no credentials). */
  #decide(request: AccessRequest, named: string | undefined, verified: boolean | undefined): AccessDecision {
    const user = verified === true ? named : undefined;
    const reader: RepositoryReader = (registry, repository) => this.#rules.allows(registry, repository, user);
    const repository = request.repository;
    if (repository === undefined) {
      if (verified === true) return { ok: true, user, reader };
      return verified === false
        ? deny('UNAUTHORIZED', 'bad_credentials', named, 'wrong user name or password')
        : deny('UNAUTHORIZED', 'no_credentials', undefined, 'authentication required');
    }
    const rule = this.#rules.ruleFor(repository.registry, repository.name);
    if (rule === undefined) return deny('DENIED', 'no_rule', named, `no access rule lets anyone pull ${repository.name}`);
    if (permits(rule.allow, user)) return { ok: true, user, reader };
    if (verified === undefined) return deny('UNAUTHORIZED', 'no_credentials', undefined, `authentication required to pull ${repository.name}`);
    if (verified === false) return deny('UNAUTHORIZED', 'bad_credentials', named, 'wrong user name or password');
    return deny('DENIED', 'not_allowed', named, `user ${named} may not pull ${repository.name}`);
  }
}

function deny(code: 'UNAUTHORIZED' | 'DENIED', reason: DenyReason, user: string | undefined, message: string): AccessDecision {
  return { ok: false, code, reason, user, message };
}

function blockListOf(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address, bits] = cidr.split('/') as [string, string];
    list.addSubnet(address, Number(bits), isIPv4(address) ? 'ipv4' : 'ipv6');
  }
  return list;
}

function inNetworks(list: BlockList, address: string | undefined): boolean {
  if (address === undefined) return false;
  // A dual-stack socket reports IPv4 clients as IPv4-mapped IPv6 addresses.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const plain = mapped ?? address;
  return list.check(plain, isIPv4(plain) ? 'ipv4' : 'ipv6');
}
