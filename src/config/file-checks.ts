/**
 * The I/O half of file-references.ts: does each file the config names exist and hold
 * something usable? Run by `loadConfigFile` after a successful parse, so
 * `mirrorgate check` catches a missing CA bundle or secret file instead of
 * `serve` crashing on it later. Problems are positioned at the path's value.
 *
 * - `tls.ca` must be a readable regular file with at least one
 *   `-----BEGIN CERTIFICATE-----` ... `-----END CERTIFICATE-----` block.
 * - `auth.passwordFile` must be a readable regular file that is not empty.
 *   A lone trailing line break does not count as content: the authenticator
 *   strips it, so a file holding just "\n" is an empty password.
 *
 * - a listener's `tls.cert` must hold a PEM certificate block, its `tls.key` a PEM private key
 *   (the two are then tried as a pair: key-pair-checks.ts).
 * - `access.htpasswd` must hold `user:bcrypt-hash` lines (htpasswd.ts).
 *
 * Messages name the file (resolved, so a relative path shows where it was
 * looked for) and never its content: a password file, or a secret mistakenly
 * given as `ca`, stays out of logs and terminals.
 *
 * Non-regular files (FIFOs, devices, sockets) are refused without being
 * opened: opening a FIFO would block the check until someone writes to it.
 * The files are read as the checking process; the gateway reads them again
 * when it uses them (a password file on every token fetch), so a check run
 * as another user (root) proves nothing about the gateway's own permissions.
 */
import { readFile, stat } from 'node:fs/promises';
import type { FileKind, FileReference } from './file-references.js';
import { parseHtpasswd } from './htpasswd.js';
import type { ConfigProblem } from './types.js';

/** The file-system calls the checks make; replaceable so tests can simulate errors root cannot get (EACCES). */
export interface FileSystem {
  stat(file: string): Promise<{ isFile(): boolean; isDirectory(): boolean }>;
  readFile(file: string): Promise<Buffer>;
}

const nodeFileSystem: FileSystem = { stat, readFile: (file) => readFile(file) };

type ReadResult = { readonly ok: true; readonly data: Buffer } | { readonly ok: false; readonly reason: string };

/** `ENOENT`, `EACCES`...: the code says what is wrong without echoing anything from the file. */
function errorReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof code === 'string') return code;
  return err instanceof Error ? err.message : String(err);
}

async function readRegularFile(fs: FileSystem, file: string): Promise<ReadResult> {
  try {
    const info = await fs.stat(file);
    if (info.isDirectory()) return { ok: false, reason: 'EISDIR' };
    if (!info.isFile()) return { ok: false, reason: 'not a regular file' };
    return { ok: true, data: await fs.readFile(file) };
  } catch (err) {
    return { ok: false, reason: errorReason(err) };
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/;
const PEM_PRIVATE_KEY = /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----[\s\S]*?-----END (?:[A-Z]+ )?PRIVATE KEY-----/;

/** The problem with `data` as a file of `kind`, if any. */
function contentProblem(kind: FileKind, file: string, data: Buffer): string | undefined {
  switch (kind) {
    case 'ca':
      return PEM_CERTIFICATE.test(data.toString('utf8')) ? undefined : `file ${file} must contain a PEM certificate (a "-----BEGIN CERTIFICATE-----" block)`;
    case 'passwordFile':
      return data.toString('utf8').replace(/\r?\n$/, '') === '' ? `file ${file} is empty` : undefined;
    case 'cert':
      return PEM_CERTIFICATE.test(data.toString('utf8'))
        ? undefined
        : `file ${file} must contain a PEM certificate chain (a "-----BEGIN CERTIFICATE-----" block)`;
    case 'key':
      return PEM_PRIVATE_KEY.test(data.toString('utf8')) ? undefined : `file ${file} must contain a PEM private key (a "-----BEGIN PRIVATE KEY-----" block)`;
    case 'htpasswd': {
      const problem = parseHtpasswd(data.toString('utf8')).problems[0];
      return problem === undefined ? undefined : `file ${file} line ${problem.line}: ${problem.message}`;
    }
  }
}

/**
 * One problem per bad reference, in the order given. A file named several
 * times is read once; each reference still gets its own problem, at its own
 * position.
 */
export async function checkFiles(files: readonly FileReference[], fs: FileSystem = nodeFileSystem): Promise<ConfigProblem[]> {
  const reads = new Map<string, Promise<ReadResult>>();
  const read = (file: string): Promise<ReadResult> => {
    let result = reads.get(file);
    if (result === undefined) {
      result = readRegularFile(fs, file);
      reads.set(file, result);
    }
    return result;
  };
  const problems = await Promise.all(
    files.map(async (ref): Promise<ConfigProblem | undefined> => {
      const result = await read(ref.file);
      const message = result.ok ? contentProblem(ref.kind, ref.file, result.data) : `cannot read file ${ref.file} (${result.reason})`;
      return message === undefined ? undefined : { path: ref.path, line: ref.line, col: ref.col, message };
    }),
  );
  return problems.filter((p): p is ConfigProblem => p !== undefined);
}
