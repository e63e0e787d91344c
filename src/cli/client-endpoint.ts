/**
 * The address clients are told to use for the gateway (`client-config`): `--endpoint` when
 * given, else the first listener. A wildcard listener (`0.0.0.0`, `[::]`) names no address a
 * client can dial, and guessing (the machine's hostname, its first interface) would write a
 * plausible but wrong name into every node's /etc: the user must say it.
 */
import { isIPv6 } from 'node:net';
import { fail, ok, type Result } from '../config/checks.js';

export interface ClientEndpoint {
  /** `http://docker-mirror.company.com:5000`, `https://docker-mirror.company.com` (no trailing slash). */
  readonly url: string;
  /** `host[:port]` as registries are named by clients (the port left out when it is the scheme's default). */
  readonly authority: string;
  /** Port clients dial, as written in the authority ('' when the scheme's default). */
  readonly port: string;
  /** Plain HTTP: every client needs it marked insecure. */
  readonly plainHttp: boolean;
}

/** The listener the endpoint defaults to: its address and whether it speaks TLS. */
export interface Listener {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
}

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

export const ENDPOINT_EXAMPLE = 'https://docker-mirror.company.com';

/** `--endpoint`: an http(s) URL naming just a host and optional port. */
export function parseEndpoint(text: string): Result<ClientEndpoint> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail(`--endpoint must be a URL such as ${ENDPOINT_EXAMPLE}, got ${JSON.stringify(text)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return fail(`--endpoint must start with http:// or https://, got ${JSON.stringify(text)}`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    return fail(`--endpoint names the gateway's host and port only (clients add /v2/ themselves), got ${JSON.stringify(text)}`);
  }
  return ok({ url: `${url.protocol}//${url.host}`, authority: url.host, port: url.port, plainHttp: url.protocol === 'http:' });
}

/** The endpoint a listener gives, or why it gives none. */
export function listenerEndpoint(listener: Listener): Result<ClientEndpoint> {
  const { host, port, tls } = listener;
  if (WILDCARDS.has(host)) {
    const shown = isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
    return fail(
      `the gateway listens on ${shown}, an address clients cannot use: pass the name they reach it by, e.g. --endpoint ${tls ? 'https' : 'http'}://docker-mirror.company.com:${port}`,
    );
  }
  const hostPart = isIPv6(host) ? `[${host}]` : host;
  return parseEndpoint(`${tls ? 'https' : 'http'}://${hostPart}:${port}`);
}
