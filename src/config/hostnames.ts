/**
 * Host names as written in the file: `listen:` hosts, redirect `allowHosts`,
 * registry names and their virtual `hosts`. DNS names are case-insensitive,
 * so lists of them are stored lowercased and the rest of the gateway can
 * compare with `===`.
 */
import { isIPv4 } from 'node:net';
import { fail, fromString, ok, type Check, type Result } from './checks.js';

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?';
const HOSTNAME_RE = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);

/** A DNS name or an IPv4 address; all-digit names must be real IPv4 addresses, so "999.1.1.1" is refused. */
export function isHostName(s: string): boolean {
  return /^[\d.]+$/.test(s) ? isIPv4(s) : HOSTNAME_RE.test(s);
}

const HOST_EXPECTED = 'a host name without scheme, port or path';

/** For a URL written where a host name belongs: `; did you mean "cdn.example.com"?`. */
function urlHint(s: string): string {
  if (!s.includes('://')) return '';
  try {
    const { hostname } = new URL(s);
    return isHostName(hostname) ? `; did you mean ${JSON.stringify(hostname.toLowerCase())}?` : '';
  } catch {
    return '';
  }
}

/** One host name, lowercased. */
export const hostName: Check<string> = fromString(HOST_EXPECTED, (s) =>
  isHostName(s) ? ok(s.toLowerCase()) : fail(`must be ${HOST_EXPECTED}, got string ${JSON.stringify(s)}${urlHint(s)}`),
);

/**
 * A registry as clients name it in image references: `host` or `host:port`,
 * lowercased. Used on mapping keys, whose text is already in the problem's
 * path, so the message does not repeat it.
 */
export function parseRegistryName(s: string): Result<string> {
  const colon = s.lastIndexOf(':');
  const host = colon === -1 ? s : s.slice(0, colon);
  const port = colon === -1 ? '1' : s.slice(colon + 1);
  const portOk = /^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535;
  return isHostName(host) && portOk
    ? ok(s.toLowerCase())
    : fail('must be a registry host name with an optional port, such as "ghcr.io" or "registry.corp:5000"');
}
