/** `listen: "host:port"` → { host, port }. IPv6 hosts are bracketed (`[::]:5000`) so the port separator is unambiguous. */
import { isIPv6 } from 'node:net';
import { fail, ok, type Result } from './checks.js';
import { isHostName } from './hostnames.js';
import type { ListenAddress } from './types.js';

export const LISTEN_EXPECTED = 'a "host:port" string such as "0.0.0.0:5000" or "[::]:5000"';

export function parseListen(s: string): Result<ListenAddress> {
  const bracketed = /^\[([^\]]*)\]:([^:]*)$/.exec(s);
  let host: string;
  let port: string;
  if (bracketed !== null) {
    host = bracketed[1]!;
    port = bracketed[2]!;
    if (!isIPv6(host)) return fail(`host "[${host}]" is not an IPv6 address`);
  } else {
    const colon = s.lastIndexOf(':');
    if (colon <= 0) return fail(`must be ${LISTEN_EXPECTED}, got string ${JSON.stringify(s)}`);
    host = s.slice(0, colon);
    port = s.slice(colon + 1);
    if (host.includes(':')) return fail(`an IPv6 host must be in brackets, e.g. "[::]:5000", got string ${JSON.stringify(s)}`);
    if (!isHostName(host)) return fail(`host ${JSON.stringify(host)} is not an IP address or hostname`);
  }
  const n = /^\d{1,5}$/.test(port) ? Number(port) : NaN;
  if (!(n <= 65535)) return fail(`port must be an integer from 0 to 65535, got ${JSON.stringify(port)}`);
  return ok({ host, port: n });
}
