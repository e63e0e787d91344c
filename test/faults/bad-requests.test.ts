/**
 * The bad-request corpus (corpus/requests/*.http) replayed over a raw socket to one running
 * gateway (cache on, an honest mirror behind it): traversal, malformed names, digests, methods
 * and headers, smuggling pairs, an oversized header block, TLS bytes on the plain port, bad
 * Ranges. Each file is a raw request (LF line ends, sent as CRLF) under `# ` lines that say what
 * to expect: `# expect: <status or Nxx>[|…] [REGISTRY_CODE]`, `# pad: N` (a header of N bytes
 * added), `# blob: small` (`{small}` in the request is that blob's digest). After every file the
 * gateway must still answer `GET /v2/` on a new connection.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import t from 'tap';
import { startFakeUpstream } from '../integration/helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../integration/helpers/gateway.js';
import { contentMirror, createContent } from './helpers/content-mirror.js';

const DIR = new URL('./corpus/requests/', import.meta.url);

interface Case {
  readonly name: string;
  readonly expect: string[];
  readonly code: string | undefined;
  readonly bytes: Buffer;
  readonly blob: boolean;
}

function load(name: string, small: string): Case {
  const text = readFileSync(new URL(name, DIR), 'latin1');
  const lines = text.split('\n');
  const meta = new Map<string, string>();
  let i = 0;
  for (; i < lines.length && lines[i]!.startsWith('# '); i++) {
    const match = /^# (expect|pad|blob): (.*)$/.exec(lines[i]!);
    if (match !== null) meta.set(match[1]!, match[2]!.trim());
  }
  const [statuses, code] = (meta.get('expect') ?? '').split(' ');
  if (statuses === undefined || statuses === '') throw new Error(`${name}: no # expect: line`);
  let request = lines.slice(i).join('\n').replaceAll('{small}', small);
  const pad = meta.get('pad');
  if (pad !== undefined) request = request.replace('\n\n', `\nX-Pad: ${'a'.repeat(Number(pad))}\n\n`);
  return { name, expect: statuses.split('|'), code, bytes: Buffer.from(request.replaceAll('\n', '\r\n'), 'latin1'), blob: meta.has('blob') };
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** Sends `bytes` and reads the first answer: until its Content-Length is in, or the server closes, or 3 s of silence. */
function replay(port: number, bytes: Buffer): Promise<Answer | undefined> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    const finish = (): void => {
      socket.destroy();
      resolve(parse(got));
    };
    socket.setTimeout(3000, finish);
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      const answer = parse(got);
      if (answer !== undefined && Number(answer.headers['content-length'] ?? -1) === answer.body.length) finish();
    });
    socket.on('close', finish);
    socket.on('error', finish);
    socket.write(bytes);
  });
}

function parse(raw: Buffer): Answer | undefined {
  const end = raw.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const [statusLine, ...headerLines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status, headers, body: raw.subarray(end + 4) };
}

const matches = (status: number, spec: string): boolean => (/^\dxx$/.test(spec) ? Math.floor(status / 100) === Number(spec[0]) : status === Number(spec));

t.test('the bad-request corpus', async (t) => {
  const content = createContent();
  const mirror = await startFakeUpstream(contentMirror(content, 'none'));
  t.teardown(() => mirror.close());
  const gw = await startGateway(upstreamsYaml([['m', mirror.url, 1]]) + 'cache: { dir: cache }\n');
  t.teardown(() => gw.close());
  const port = Number(new URL(gw.url).port);
  const files = readdirSync(DIR).filter((name) => name.endsWith('.http'));
  t.ok(files.length >= 25, `${files.length} requests`);
  for (const name of files.sort()) {
    await t.test(name, async (t) => {
      const c = load(name, content.small.digest);
      const answer = await replay(port, c.bytes);
      t.ok(answer !== undefined, 'an answer came (never a silent close)');
      if (answer === undefined) return;
      t.ok(
        c.expect.some((spec) => matches(answer.status, spec)),
        `status ${answer.status} is ${c.expect.join(' or ')}`,
      );
      if (c.code !== undefined) {
        const body = JSON.parse(answer.body.toString('utf8')) as { errors?: { code?: string }[] };
        t.equal(body.errors?.[0]?.code, c.code, 'the registry error code');
        t.equal(answer.headers['docker-distribution-api-version'], 'registry/2.0');
      }
      if (c.blob && answer.status === 206) {
        const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(answer.headers['content-range'] ?? '');
        t.ok(range !== null && answer.body.equals(content.small.bytes.subarray(Number(range[1]), Number(range[2]) + 1)), 'a 206 is the slice it names');
      }
      if (c.blob && answer.status === 200) t.ok(answer.body.equals(content.small.bytes), 'a 200 is the whole blob');
      const ping = await fetch(`${gw.url}/v2/`);
      t.equal(ping.status, 200, 'the gateway still serves');
    });
  }
  t.equal(mirror.requests.filter((r) => r.url.includes('smuggled')).length, 0, 'no smuggled request reached the mirror');
});
