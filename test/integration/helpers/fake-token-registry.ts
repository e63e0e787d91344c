/**
 * A registry front with its own token service, for auth behaviour in-process: each instance
 * issues opaque tokens only it accepts, so a token from one is useless at another — the
 * situation that breaks a plain load balancer in front of two mirrors.
 */
import { randomBytes } from 'node:crypto';
import { registryAnswer, startFakeUpstream, type FakeUpstream } from './fake-upstream.js';

export interface FakeTokenRegistry {
  readonly registry: FakeUpstream;
  readonly tokenService: FakeUpstream;
  /** Token requests received: scope, service, and whether Basic credentials came along. */
  readonly tokenRequests: { scope: string | null; service: string | null; basic: string | undefined }[];
  readonly issued: string[];
  close(): Promise<void>;
}

export interface FakeTokenRegistryOptions {
  readonly service: string;
  /** When set, token requests must carry exactly this Basic user:password. */
  readonly credentials?: { username: string; password: string };
  readonly expiresIn?: number;
  /** Reply to token requests with this status instead. */
  readonly tokenStatus?: number;
}

export async function startFakeTokenRegistry(body: string, options: FakeTokenRegistryOptions): Promise<FakeTokenRegistry> {
  const tokenRequests: FakeTokenRegistry['tokenRequests'] = [];
  const issued: string[] = [];
  const valid = new Set<string>();
  const tokenService = await startFakeUpstream((req, res) => {
    const url = new URL(req.url ?? '/', 'http://token');
    const basic = req.headers.authorization;
    tokenRequests.push({ scope: url.searchParams.get('scope'), service: url.searchParams.get('service'), basic });
    const expected = options.credentials && `Basic ${Buffer.from(`${options.credentials.username}:${options.credentials.password}`).toString('base64')}`;
    if (options.tokenStatus !== undefined || (expected !== undefined && basic !== expected)) {
      res.writeHead(options.tokenStatus ?? 401, { 'content-type': 'application/json' });
      return void res.end('{"details":"no"}');
    }
    const token = `${options.service}.${randomBytes(12).toString('hex')}`;
    issued.push(token);
    valid.add(token);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token, access_token: token, expires_in: options.expiresIn ?? 300, issued_at: new Date().toISOString() }));
  });
  const answer = registryAnswer(body);
  const registry = await startFakeUpstream((req, res) => {
    const auth = req.headers.authorization ?? '';
    if (!auth.startsWith('Bearer ') || !valid.has(auth.slice(7))) {
      const name = /^\/v2\/(.+)\/(manifests|blobs|tags)\//.exec(req.url ?? '')?.[1] ?? '';
      res.writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': `Bearer realm="${tokenService.url}/token",service="${options.service}",scope="repository:${name}:pull"`,
      });
      return void res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
    }
    answer(req, res);
  });
  return {
    registry,
    tokenService,
    tokenRequests,
    issued,
    close: async () => {
      await Promise.all([registry.close(), tokenService.close()]);
    },
  };
}
