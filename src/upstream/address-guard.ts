/**
 * Keeps redirects from steering the gateway at internal addresses: a mirror (or whoever controls
 * its responses) must not be able to make mirrorgate fetch the cloud metadata service or an
 * internal admin port. Checked on the address actually connected to (in the DNS lookup), so a
 * name that resolves differently the second time gains nothing.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';

const BLOCKED = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network"; 0.0.0.0 reaches localhost on Linux
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT, used inside some clouds
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, incl. 169.254.169.254 metadata
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
] as const) {
  BLOCKED.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7], // unique local, incl. fd00:ec2::254 metadata
  ['fe80::', 10], // link-local
] as const) {
  BLOCKED.addSubnet(network, prefix, 'ipv6');
}

/** True for loopback, private, link-local, CGNAT and metadata addresses (v4, v6, v4-mapped v6). */
export function isInternalAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped !== null) return BLOCKED.check(mapped[1]!, 'ipv4');
  const family = isIP(address);
  if (family === 0) return false;
  return BLOCKED.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export class InternalAddressError extends Error {
  readonly code = 'EINTERNALADDRESS';
  constructor(host: string, address: string) {
    super(`redirect target ${host} resolves to internal address ${address}`);
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `dns.lookup` replacement for a socket's `lookup` option that fails when the name resolves
 * to an internal address. Hosts in `allowed` (lowercase) skip the check.
 */
export function guardedLookup(allowed: ReadonlySet<string>) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    const all: LookupAllOptions = { ...options, all: true };
    dnsLookup(hostname, all, (err, addresses) => {
      if (err !== null) return callback(err, []);
      if (!allowed.has(hostname.toLowerCase())) {
        const internal = addresses.find((entry) => isInternalAddress(entry.address));
        if (internal !== undefined) return callback(new InternalAddressError(hostname, internal.address), []);
      }
      if (options.all === true) return callback(null, addresses);
      const first = addresses[0];
      if (first === undefined) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), []);
      callback(null, first.address, first.family);
    });
  };
}

/**
 * Whether a redirect to `url` may be followed at all before connecting: http(s) only, and an
 * IP-literal host (which never goes through DNS lookup) is checked here.
 */
export function redirectTargetProblem(url: URL, allowed: ReadonlySet<string>, allowPrivate: boolean): string | undefined {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `redirect to a ${url.protocol} URL`;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (allowPrivate || allowed.has(host)) return undefined;
  if (host === 'localhost' || host.endsWith('.localhost')) return `redirect to ${host}`;
  if (isIP(host) !== 0 && isInternalAddress(host)) return `redirect to internal address ${host}`;
  return undefined;
}
