/** `listen: "host:port"` → { host, port } (and the object and list forms, below). IPv6 hosts are bracketed (`[::]:5000`) so the port separator is unambiguous. */
import { isIPv6 } from 'node:net';
import { isAlias, isMap, isNode, isScalar, isSeq, type Node } from 'yaml';
import { boolean, describe, fail, fromString, ok, type Result } from './checks.js';
import type { Ctx } from './context.js';
import { DEFAULT_LISTEN, DEFAULT_LISTEN_HTTP2 } from './defaults.js';
import { fileField } from './file-field.js';
import { isHostName } from './hostnames.js';
import { indexPath, keyPath } from './paths.js';
import { LISTEN_KEYS, LISTEN_TLS_KEYS } from './schema.js';
import { field, readSection, requiredField, type Section } from './section.js';
import type { ListenAddress, ListenerConfig, ListenTlsConfig } from './types.js';
import { UniqueValues } from './unique.js';
import type { ValueNode } from './value-node.js';

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

/**
 * `listen:` as the file may write it (issue 11): a string (one plain listener), a mapping
 * `{ address, tls: { cert, key, ca?, http2? } }`, or a list of strings and mappings, so one
 * gateway can serve HTTPS on :443 and plain HTTP on :5000 at once. The certificate and key are
 * recorded for the file checks, which also try them as a pair (file-checks.ts).
 */
export function readListen(ctx: Ctx, root: Section): ListenerConfig[] {
  const entry = root.entries.get('listen');
  if (entry === undefined) return [DEFAULT_LISTEN];
  const value = entry.value;
  if (ctx.alreadyReported(value)) return [DEFAULT_LISTEN];
  if (!isSeq(value)) return [readListener(ctx, value ?? entry.key, value, 'listen') ?? DEFAULT_LISTEN];
  if (value.items.length === 0) {
    ctx.report('listen', value, `must list at least one listener, got an empty sequence`);
    return [DEFAULT_LISTEN];
  }
  const read = value.items.map((item, i) => {
    const node = ctx.resolve(item);
    return readListener(ctx, isAlias(item) ? item : (node ?? value), node, indexPath('listen', i));
  });
  const addresses = new UniqueValues();
  value.items.forEach((item, i) => {
    const listener = read[i];
    // Port 0 (any free port) may repeat: each gets its own. A listener already reported is not judged again.
    if (listener !== undefined && listener.port !== 0 && isNode(item)) addresses.add(`${listener.host}:${listener.port}`, indexPath('listen', i), item);
  });
  addresses.reportDuplicates(ctx, (address, line) => `duplicate listen address ${address}; first used at line ${line}`);
  return read.map((listener) => listener ?? DEFAULT_LISTEN);
}

const LISTENER_EXPECTED = `${LISTEN_EXPECTED}, a mapping with "address" and "tls", or a list of them`;

/** One listener; undefined when it was reported. `where`: the node a problem is reported at. */
function readListener(ctx: Ctx, where: Node, node: ValueNode, path: string): ListenerConfig | undefined {
  if (ctx.alreadyReported(node)) return undefined;
  if (isScalar(node) && typeof node.value === 'string') {
    const parsed = parseListen(node.value);
    if (parsed.ok) return parsed.value;
    ctx.report(path, where, parsed.message);
    return undefined;
  }
  if (!isMap(node)) {
    ctx.report(path, where, `must be ${LISTENER_EXPECTED}, got ${describe(node)}`);
    return undefined;
  }
  const s = readSection(ctx, node, path, LISTEN_KEYS);
  if (s === undefined) return undefined;
  const address = requiredField(ctx, s, 'address', fromString(LISTEN_EXPECTED, parseListen));
  const tls = readListenTls(ctx, s);
  if (address === undefined) return undefined;
  return tls === undefined ? address : { ...address, tls };
}

function readListenTls(ctx: Ctx, listener: Section): ListenTlsConfig | undefined {
  const entry = listener.entries.get('tls');
  if (entry === undefined) return undefined;
  const path = keyPath(listener.path, 'tls');
  if (ctx.alreadyReported(entry.value)) return undefined;
  if (!isMap(entry.value)) {
    ctx.report(path, entry.value ?? entry.key, `must be a mapping with cert and key, got ${describe(entry.value)}`);
    return undefined;
  }
  const s = readSection(ctx, entry.value, path, LISTEN_TLS_KEYS);
  if (s === undefined) return undefined;
  for (const name of ['cert', 'key']) if (!s.entries.has(name)) ctx.report(keyPath(path, name), s.node, 'required key is missing');
  const cert = fileField(ctx, s, 'cert', 'cert');
  const key = fileField(ctx, s, 'key', 'key');
  const ca = fileField(ctx, s, 'ca', 'ca');
  const http2 = field(ctx, s, 'http2', boolean, DEFAULT_LISTEN_HTTP2) ?? DEFAULT_LISTEN_HTTP2;
  if (cert === undefined || key === undefined) return undefined;
  ctx.referPair(path, s.node, cert, key);
  return { cert, key, ...(ca !== undefined && { ca }), http2 };
}
