/**
 * A registry token service for the e2e suites (distribution's "Token Authentication
 * Specification"), in front of a real `docker-registry` configured with `auth: token`.
 *
 * - Tokens are RS256 JWTs signed with a self-signed certificate generated at start-up
 *   (./x509.ts); the certificate travels in the JWT header as `x5c` and is the registry's
 *   `rootcertbundle`, so a registry trusts exactly one token service.
 * - `GET /token?service=…&scope=…` (scope may repeat, each may hold several space-separated
 *   scopes) with optional Basic credentials; also the OAuth2 form `POST /token`
 *   (grant_type=password).
 * - Grants: anonymous → `pull` on every repository outside `privatePrefix`; a `pull` user →
 *   `pull` everywhere; a `push` user → whatever actions were asked. Anything else is left out
 *   of the token (the registry then answers 401 insufficient_scope), as Docker's services do.
 *   Wrong credentials → 401. Another `service` → 400.
 * - Every request is recorded (scopes, user, user agent, status), and every issued token kept,
 *   so a test can count fetches per (service, scope) and scan output for leaked tokens.
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { listenLocal } from './local-server.js';
import { selfSignedCert, signJwt, type SelfSignedCert } from './x509.js';

export interface TokenUser {
  password: string;
  /** `pull`: pull on every repository; `push`: every action asked for (setup pushes). */
  role: 'pull' | 'push';
}

export interface TokenServerOptions {
  /** The registry's `service` name (the JWT audience). */
  service: string;
  /** The JWT issuer (the registry's `issuer`). */
  issuer: string;
  users?: Record<string, TokenUser>;
  /** Repositories under this prefix are not pulled anonymously. Default "private/". */
  privatePrefix?: string;
  /** `expires_in` of every token. Default 300 (Docker Hub's). */
  expiresInSec?: number;
}

export interface Access {
  type: string;
  name: string;
  actions: string[];
}

export interface TokenRequestRecord {
  /** Date.now() when it arrived. */
  at: number;
  method: string;
  service: string | null;
  /** Scopes as asked, one entry per scope. */
  scopes: string[];
  /** Basic/OAuth2 user name, undefined when anonymous. */
  user: string | undefined;
  userAgent: string;
  status: number;
  granted: Access[];
}

export interface TokenServer {
  readonly url: string;
  /** `${url}/token` */
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  readonly expiresInSec: number;
  /** PEM file with the signing certificate (the registry's rootcertbundle). */
  readonly rootCertBundle: string;
  readonly cert: SelfSignedCert;
  readonly requests: readonly TokenRequestRecord[];
  /** Every token handed out, in order. */
  readonly issuedTokens: readonly string[];
  /**
   * The `auth:` section for a docker-registry config.yml (StartRegistryOptions.extraConfig).
   * `realmHost` overrides the host name in the realm for this registry only.
   */
  registryAuthYaml(realmHost?: string): string;
  /** Number of requests so far, to count only the ones after it (`requestsSince`). */
  mark(): number;
  requestsSince(mark: number): TokenRequestRecord[];
  close(): Promise<void>;
}

const DEFAULT_EXPIRES_IN_SEC = 300;

function parseScope(scope: string): Access | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  const actions = scope
    .slice(last + 1)
    .split(',')
    .filter((a) => a !== '');
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions };
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

interface Credentials {
  user: string;
  password: string;
}

function basicCredentials(header: string | undefined): Credentials | undefined | 'malformed' {
  if (header === undefined) return undefined;
  const m = /^Basic\s+(\S+)$/i.exec(header);
  if (m === null) return 'malformed';
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return 'malformed';
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

async function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Start on a free 127.0.0.1 port; `dir` receives the rootcertbundle PEM. Register `close()` in a teardown. */
export async function startTokenServer(dir: string, opts: TokenServerOptions): Promise<TokenServer> {
  const expiresInSec = opts.expiresInSec ?? DEFAULT_EXPIRES_IN_SEC;
  const privatePrefix = opts.privatePrefix ?? 'private/';
  const users = opts.users ?? {};
  const cert = selfSignedCert({ commonName: `mirrorgate e2e token service ${opts.service}` });
  const rootCertBundle = join(dir, `token-root-${opts.service.replace(/[^a-zA-Z0-9.-]/g, '_')}-${randomBytes(4).toString('hex')}.pem`);
  await writeFile(rootCertBundle, cert.certPem);

  const requests: TokenRequestRecord[] = [];
  const issuedTokens: string[] = [];

  const grant = (user: string | undefined, asked: Access): Access | undefined => {
    const role = user === undefined ? undefined : users[user]?.role;
    if (asked.type !== 'repository') return undefined;
    let actions: string[];
    if (role === 'push') actions = asked.actions;
    else if (role === 'pull' || !asked.name.startsWith(privatePrefix)) actions = asked.actions.filter((a) => a === 'pull');
    else actions = [];
    return actions.length === 0 ? undefined : { type: asked.type, name: asked.name, actions };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://token.invalid');
    const record: TokenRequestRecord = {
      at: Date.now(),
      method: req.method ?? '',
      service: null,
      scopes: [],
      user: undefined,
      userAgent: String(req.headers['user-agent'] ?? ''),
      status: 0,
      granted: [],
    };
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      record.status = status;
      requests.push(record);
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
      res.end(text);
    };
    if (url.pathname !== '/token') return reply(404, { errors: [{ code: 'NOT_FOUND', message: 'no such endpoint' }] });

    let params: URLSearchParams;
    let credentials: Credentials | undefined | 'malformed';
    if (req.method === 'GET') {
      params = url.searchParams;
      credentials = basicCredentials(req.headers.authorization);
    } else if (req.method === 'POST') {
      params = new URLSearchParams(await readBody(req));
      const grantType = params.get('grant_type');
      if (grantType !== 'password') return reply(400, { error: 'unsupported_grant_type' });
      credentials = { user: params.get('username') ?? '', password: params.get('password') ?? '' };
    } else {
      return reply(405, { error: 'method not allowed' }, { allow: 'GET, POST' });
    }
    record.service = params.get('service');
    record.scopes = params
      .getAll('scope')
      .flatMap((s) => s.split(' '))
      .filter((s) => s !== '');
    if (credentials === 'malformed') return reply(400, { error: 'malformed Authorization' });
    if (credentials !== undefined) {
      record.user = credentials.user;
      const known = users[credentials.user];
      if (known === undefined || !safeEqual(known.password, credentials.password)) {
        return reply(401, { errors: [{ code: 'UNAUTHORIZED', message: 'invalid username or password' }] }, { 'www-authenticate': 'Basic realm="token"' });
      }
    }
    if (record.service !== opts.service) {
      return reply(400, { errors: [{ code: 'INVALID_SERVICE', message: `this token service issues tokens for ${opts.service} only` }] });
    }
    const access: Access[] = [];
    for (const scope of record.scopes) {
      const asked = parseScope(scope);
      const granted = asked === undefined ? undefined : grant(record.user, asked);
      if (granted !== undefined) access.push(granted);
    }
    record.granted = access;
    const now = Math.floor(Date.now() / 1000);
    const token = signJwt(
      {
        iss: opts.issuer,
        sub: record.user ?? '',
        aud: opts.service,
        exp: now + expiresInSec,
        nbf: now - 10,
        iat: now,
        jti: randomUUID(),
        access,
      },
      cert,
    );
    issuedTokens.push(token);
    reply(200, { token, access_token: token, expires_in: expiresInSec, issued_at: new Date(now * 1000).toISOString() });
  };

  const { url, port, close } = await listenLocal(handle);
  const realm = `${url}/token`;

  return {
    url,
    realm,
    service: opts.service,
    issuer: opts.issuer,
    expiresInSec,
    rootCertBundle,
    cert,
    requests,
    issuedTokens,
    registryAuthYaml: (realmHost?: string) =>
      [
        'auth:',
        '  token:',
        `    realm: ${JSON.stringify(realmHost === undefined ? realm : `http://${realmHost}:${port}/token`)}`,
        `    service: ${JSON.stringify(opts.service)}`,
        `    issuer: ${JSON.stringify(opts.issuer)}`,
        `    rootcertbundle: ${JSON.stringify(rootCertBundle)}`,
      ].join('\n'),
    mark: () => requests.length,
    requestsSince: (mark) => requests.slice(mark),
    close,
  };
}
