/**
 * A throwaway certificate authority made with the openssl CLI at test time: a CA, server
 * certificates for 127.0.0.1/localhost signed by it, and client certificates. Nothing is
 * checked in: every run makes its own keys in a temp folder. P-256 keys, so it takes
 * milliseconds. Used by the TLS integration tests and the e2e suite's TLS run.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface IssuedPair {
  readonly cert: string;
  readonly key: string;
}

export interface TestCa {
  readonly dir: string;
  /** The CA certificate (PEM file). */
  readonly cert: string;
  /** A server certificate for 127.0.0.1 and localhost; `name` picks the files' names (several may be issued). */
  server(name: string, commonName?: string): IssuedPair;
  /** A client certificate. */
  client(name: string): IssuedPair;
  remove(): void;
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function createTestCa(label = 'mirrorgate test CA'): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'mirrorgate-ca-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', `/CN=${label}`], dir);
  const issue = (name: string, commonName: string, extensions: string): IssuedPair => {
    writeFileSync(join(dir, `${name}.ext`), extensions);
    openssl(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${commonName}`], dir);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '2',
        '-out',
        `${name}.crt`,
        '-extfile',
        `${name}.ext`,
      ],
      dir,
    );
    return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  };
  return {
    dir,
    cert: join(dir, 'ca.crt'),
    server: (name, commonName = 'localhost') =>
      issue(name, commonName, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n'),
    client: (name) => issue(name, name, 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
