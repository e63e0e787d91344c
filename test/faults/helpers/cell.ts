/**
 * One cell of the fault matrix, run: a fresh gateway (cache off or on) in front of a faulty
 * mirror (first in the balancer's order, so the first attempt goes to it) and the shared honest
 * mirror, one pull of the cell's kind — and, while the answer was cut, the client's retries —
 * then what /metrics says about the faulty mirror. Everything a cell starts it closes.
 */
import { createHash } from 'node:crypto';
import { request, type IncomingHttpHeaders } from 'node:http';
import { metricSum } from '../../helpers/metrics-text.js';
import { startFakeUpstream, type FakeUpstream } from '../../integration/helpers/fake-upstream.js';
import { startGateway } from '../../integration/helpers/gateway.js';
import { contentMirror, REPO, TAG, type Content, type Fault } from './content-mirror.js';

export type Kind = 'tag' | 'digest' | 'head' | 'small' | 'big' | 'range';

/** The configured timeouts of every upstream (connect, headers, idle, queue), each this long. */
export const TIMEOUT_MS = 1000;
export const MAX_ATTEMPTS = 2;
/**
 * The longest a pull may take: every attempt spending each of its timeouts in full, plus slack
 * for a busy 2-core CI machine. A fault that hangs the pull past its timeouts exceeds it.
 */
export const PULL_BOUND_MS = MAX_ATTEMPTS * 3 * TIMEOUT_MS + 3000;

export const RANGE = { start: 1000, end: 200_999 };

export function gatewayYaml(badUrl: string, goodUrl: string, cache: boolean): string {
  const t = `${TIMEOUT_MS}ms`;
  const timeouts = `timeouts: { connect: ${t}, headers: ${t}, idle: ${t}, queue: ${t} }`;
  return (
    `upstreams:\n  - { name: bad, url: "${badUrl}", ${timeouts} }\n  - { name: good, url: "${goodUrl}", ${timeouts} }\n` +
    // No hedging: a hedge would answer a frozen manifest from the good mirror before its timeout
    // and leave the fault uncharged; the matrix checks what each fault is charged as (hedging
    // has its own tests in test/integration/health/).
    `failover: { maxAttempts: ${MAX_ATTEMPTS}, hedge: false }\n` +
    // The error-rate breaker would need 50 requests: one cell shows only what opens at once (429, quarantine).
    'breaker: { volumeThreshold: 50, errorThresholdPercentage: 50, resetTimeout: 1h, quarantine: 1h }\n' +
    (cache ? 'cache: { dir: cache, tags: { ttl: 0s }, parallel: { minSize: 1MiB, pieceSize: 512KiB } }\n' : '')
  );
}

export interface Pulled {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** The body ended cleanly at its Content-Length: the client would accept it. */
  readonly complete: boolean;
  readonly ms: number;
}

/** What a right answer is: its status and bytes (for a HEAD, the bytes its headers describe). */
export function rightAnswer(kind: Kind, content: Content): { status: number; bytes: Buffer; digest?: string } {
  if (kind === 'tag' || kind === 'digest' || kind === 'head') return { status: 200, bytes: content.manifest, digest: content.manifestDigest };
  if (kind === 'small') return { status: 200, bytes: content.small.bytes, digest: content.small.digest };
  if (kind === 'big') return { status: 200, bytes: content.big.bytes, digest: content.big.digest };
  return { status: 206, bytes: content.big.bytes.subarray(RANGE.start, RANGE.end + 1) };
}

export const sha256 = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

function pathOf(kind: Kind, content: Content): { method: 'GET' | 'HEAD'; path: string; headers: Record<string, string> } {
  const accept = { accept: 'application/vnd.oci.image.manifest.v1+json' };
  if (kind === 'tag') return { method: 'GET', path: `/v2/${REPO}/manifests/${TAG}`, headers: accept };
  if (kind === 'head') return { method: 'HEAD', path: `/v2/${REPO}/manifests/${TAG}`, headers: accept };
  if (kind === 'digest') return { method: 'GET', path: `/v2/${REPO}/manifests/${content.manifestDigest}`, headers: accept };
  if (kind === 'small') return { method: 'GET', path: `/v2/${REPO}/blobs/${content.small.digest}`, headers: {} };
  if (kind === 'big') return { method: 'GET', path: `/v2/${REPO}/blobs/${content.big.digest}`, headers: {} };
  return { method: 'GET', path: `/v2/${REPO}/blobs/${content.big.digest}`, headers: { range: `bytes=${RANGE.start}-${RANGE.end}` } };
}

/** One request as a client makes it; never rejects (a refused or cut answer is a result). */
export function pullOnce(base: string, kind: Kind, content: Content): Promise<Pulled> {
  const { method, path, headers } = pathOf(kind, content);
  const started = Date.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const done = (status: number, resHeaders: IncomingHttpHeaders, complete: boolean): void =>
      resolve({ status, headers: resHeaders, body: Buffer.concat(chunks), complete, ms: Date.now() - started });
    const req = request(`${base}${path}`, { method, headers, agent: false }, (res) => {
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const length = res.headers['content-length'];
        const sized = method === 'HEAD' || length === undefined || Number(length) === Buffer.concat(chunks).length;
        done(res.statusCode ?? 0, res.headers, res.complete && sized);
      });
      res.on('error', () => done(res.statusCode ?? 0, res.headers, false));
    });
    req.setTimeout(PULL_BOUND_MS * 2, () => req.destroy(new Error('client gave up')));
    req.on('error', () => done(0, {}, false));
    req.end();
  });
}

export interface CellRun {
  /** The first pull, then the client's retries while the answer was not a complete 2xx (at most MAX_RETRIES). */
  readonly pulls: readonly Pulled[];
  readonly breakerState: number;
  readonly quarantined: number;
  /** mirrorgate_failovers_total of the faulty mirror, by reason. */
  readonly failovers: Record<string, number>;
}

/** docker and containerd retry a failed layer a few times; two retries is what a cut pull may take here. */
export const MAX_RETRIES = 2;

const accepted = (p: Pulled): boolean => p.complete && p.status >= 200 && p.status < 300;

const REASONS = [
  'connect',
  'reset',
  'timeout',
  'redirect',
  'digest',
  'bad_manifest',
  'bad_blob',
  'range',
  'queue',
  '5xx',
  'ratelimit',
  'notfound',
  'breaker_open',
];

export async function runCell(fault: Fault, kind: Kind, cache: boolean, content: Content, good: FakeUpstream, internal: FakeUpstream): Promise<CellRun> {
  const bad = fault === 'refused' ? undefined : await startFakeUpstream(contentMirror(content, fault, internal.url));
  // Port 1 (tcpmux) is never served: a port freed by closedPort() could be taken meanwhile by
  // another cell's gateway or mirror, all of which start at once.
  const badUrl = bad?.url ?? 'http://127.0.0.1:1';
  const gw = await startGateway(gatewayYaml(badUrl, good.url, cache));
  try {
    const pulls = [await pullOnce(gw.url, kind, content)];
    while (!accepted(pulls.at(-1)!) && pulls.length <= MAX_RETRIES) pulls.push(await pullOnce(gw.url, kind, content));
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    const failovers: Record<string, number> = {};
    for (const reason of REASONS) {
      const n = metricSum(text, 'mirrorgate_failovers_total', { upstream: 'bad', reason });
      if (n > 0) failovers[reason] = n;
    }
    return {
      pulls,
      breakerState: metricSum(text, 'mirrorgate_breaker_state', { upstream: 'bad' }),
      quarantined: metricSum(text, 'mirrorgate_upstream_quarantined', { upstream: 'bad' }),
      failovers,
    };
  } finally {
    await gw.close();
    await bad?.close();
  }
}
