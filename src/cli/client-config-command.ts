/**
 * `mirrorgate client-config`: what dockerd, containerd, podman and Kubernetes nodes need to pull
 * through this gateway, printed, or written under a directory in the layout they are read from
 * (`DIR/etc/docker/daemon.json`, `DIR/etc/containerd/certs.d/docker.io/hosts.toml`, …) so that
 * a configuration tool or an image build can copy it as is.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Config } from '../config/types.js';
import { listenerEndpoint, parseEndpoint, type Listener } from './client-endpoint.js';
import { CLIENT_FORMATS, clientFiles, type ClientFile, type ClientFormat, type ClientTarget } from './client-files.js';

export interface ClientConfigOptions {
  readonly endpoint?: string;
  readonly insecure: boolean;
  /** A PEM file: the CA that signed the gateway's certificate, installed for each client. */
  readonly ca?: string;
  readonly format?: string;
  /** Write the files under this directory instead of printing them. */
  readonly write?: string;
}

export interface ClientConfigResult {
  readonly out: string;
  /** Problems (exit 2), or the one file's note when the output is that file alone. */
  readonly err: string;
  readonly code: number;
}

const EXIT_INVALID = 2;

export async function runClientConfig(config: Config, options: ClientConfigOptions): Promise<ClientConfigResult> {
  const formats = chosenFormats(options.format);
  if (formats === undefined) {
    return invalid(`--format must be one of ${CLIENT_FORMATS.join(', ')}, got ${JSON.stringify(options.format)}`);
  }
  const endpoint = options.endpoint === undefined ? listenerEndpoint(firstListener(config)) : parseEndpoint(options.endpoint);
  if (!endpoint.ok) return invalid(endpoint.message);
  const caPem = options.ca === undefined ? undefined : await readCa(options.ca);
  if (caPem instanceof Error) return invalid(caPem.message);
  if (caPem !== undefined && endpoint.value.plainHttp) return invalid(`--ca is for an https:// endpoint; ${endpoint.value.url} is plain HTTP`);
  const target = { ...endpoint.value, insecure: options.insecure || endpoint.value.plainHttp, ...(caPem === undefined ? {} : { caPem }) };
  const files = filesFor(formats, config, target);
  if (options.write !== undefined) return { out: await writeFiles(options.write, files), err: '', code: 0 };
  // One file alone is printed bare, so that `client-config --format docker > daemon.json` works.
  if (files.length === 1) return { out: files[0]!.content, err: `# ${files[0]!.path}: ${files[0]!.note}\n`, code: 0 };
  return { out: files.map((file) => `# ==> ${file.path} <==\n# ${file.note}\n${file.content}`).join('\n'), err: '', code: 0 };
}

/** The listener the endpoint defaults to: the first one (a `listen:` string is one plain listener). */
function firstListener(config: Config): Listener {
  const [first] = config.listen;
  if (first === undefined) throw new Error('a config has at least one listener');
  return { host: first.host, port: first.port, tls: first.tls !== undefined };
}

function chosenFormats(format: string | undefined): readonly ClientFormat[] | undefined {
  if (format === undefined) return CLIENT_FORMATS;
  return CLIENT_FORMATS.includes(format as ClientFormat) ? [format as ClientFormat] : undefined;
}

/** Every file of every format asked for, each path once (kubernetes repeats containerd's hosts.toml). */
function filesFor(formats: readonly ClientFormat[], config: Config, target: ClientTarget): ClientFile[] {
  const byPath = new Map<string, ClientFile>();
  for (const format of formats) {
    for (const file of clientFiles(format, config.registries, target)) if (!byPath.has(file.path)) byPath.set(file.path, file);
  }
  return [...byPath.values()];
}

async function writeFiles(dir: string, files: readonly ClientFile[]): Promise<string> {
  const lines: string[] = [];
  for (const file of files) {
    const dest = join(dir, file.path);
    await mkdir(dirname(dest), { recursive: true });
    await writeFile(dest, file.content);
    lines.push(`${dest}\n  ${file.note}\n`);
  }
  return lines.join('');
}

async function readCa(file: string): Promise<string | Error> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (err) {
    return new Error(`--ca ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return pem.includes('-----BEGIN CERTIFICATE-----') ? pem : new Error(`--ca ${file}: not a PEM certificate`);
}

function invalid(message: string): ClientConfigResult {
  return { out: '', err: `mirrorgate: ${message}\n`, code: EXIT_INVALID };
}
