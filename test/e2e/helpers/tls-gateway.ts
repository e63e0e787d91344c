/**
 * The company endpoint for the clients' TLS runs: a gateway whose first listener is HTTPS with
 * a certificate from a throwaway CA (openssl, test/helpers/test-ca.ts), access rules
 * (`library/*` anonymous, `private/*` for the htpasswd user `ci`), and the client files
 * `client-config --ca <the CA> --write` makes for it.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import type { Test } from 'tap';
import { createTestCa } from '../../helpers/test-ca.js';
import { trackDir, untrackDir } from './cleanup.js';
import { writeClientFiles, type ClientFilesDir } from './client-config.js';
import { startGatewayProcess, type GatewayProcess } from './gateway-process.js';

export const TLS_USER = 'ci';
export const TLS_PASSWORD = 'e2e-secret';

export interface TlsGateway {
  readonly g: GatewayProcess;
  /** 127.0.0.1:PORT of the HTTPS listener. */
  readonly host: string;
  /** The CA certificate (PEM file). */
  readonly caCert: string;
  readonly files: ClientFilesDir;
}

/** `upstreams` is the config's `upstreams:` section (and anything else but listen and access). */
export async function startTlsGateway(root: Test, work: string, upstreams: string): Promise<TlsGateway> {
  const ca = createTestCa('mirrorgate e2e clients CA');
  trackDir(ca.dir);
  root.teardown(() => {
    ca.remove();
    untrackDir(ca.dir);
  });
  const pair = ca.server('gateway');
  const htpasswd = join(work, 'htpasswd');
  await writeFile(htpasswd, `${TLS_USER}:${bcrypt.hashSync(TLS_PASSWORD, 4)}\n`);
  const g = await startGatewayProcess(
    root,
    work,
    `${upstreams}
access:
  htpasswd: ${JSON.stringify(htpasswd)}
  rules:
    - { repositories: ["library/*"], allow: anonymous }
    - { repositories: ["private/*"], allow: [${TLS_USER}] }
`,
    {},
    pair,
  );
  const files = await writeClientFiles(root, g.configFile, join(work, 'client-tls'), ['--ca', ca.cert]);
  return { g, host: g.tlsHost!, caCert: ca.cert, files };
}
