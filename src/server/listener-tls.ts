/**
 * A TLS listener's certificate, key and client CA, read from disk and read again whenever one
 * of the files changes: cert-manager and certbot rotate them in place (a rewrite, or a symlink
 * swap in a Secret volume). A new pair is tried first (tls.createSecureContext) and only then
 * swapped in with `setSecureContext`, which changes what new handshakes get and leaves every
 * open connection as it is. A pair that does not load (half-written, mismatched) is logged and
 * ignored: the old certificate keeps serving until a good pair arrives.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContextOptions, type Server as TlsServer } from 'node:tls';
import type { ListenTlsConfig } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { watchConfigFile } from './config-watcher.js';

/** What the server takes for its TLS: the pair, and for client certificates the CA to check them against. */
export function secureOptions(
  tls: ListenTlsConfig,
  files: { cert: Buffer; key: Buffer; ca?: Buffer },
): SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean } {
  return {
    cert: files.cert,
    key: files.key,
    ...(files.ca !== undefined && { ca: files.ca }),
    // tls.ca turns on client certificates: a client without one signed by that CA is refused at the handshake.
    requestCert: tls.ca !== undefined,
    rejectUnauthorized: tls.ca !== undefined,
  };
}

/** The files as they are now, synchronously (at start, before listening); throws when one cannot be read or the pair does not load. */
export function readTlsFiles(tls: ListenTlsConfig): { cert: Buffer; key: Buffer; ca?: Buffer } {
  const files = { cert: readFileSync(tls.cert), key: readFileSync(tls.key), ...(tls.ca !== undefined && { ca: readFileSync(tls.ca) }) };
  createSecureContext(files);
  return files;
}

/** Unix seconds the certificate (the first of a chain) expires; undefined when it does not parse. */
export function notAfter(cert: Buffer): number | undefined {
  try {
    return Math.floor(Date.parse(new X509Certificate(cert).validTo) / 1000);
  } catch {
    return undefined;
  }
}

export interface CertificateWatch {
  /** Reads the files again now (what a change on disk triggers); true when the new pair is in use. */
  reload(): Promise<boolean>;
  close(): void;
}

/** Watches `tls`'s files and swaps each good new pair into `server`; `name` (`host:port`) labels logs and metrics. */
export function watchCertificate(server: TlsServer, tls: ListenTlsConfig, name: string, logger: Logger, metrics: Metrics): CertificateWatch {
  let last = '';
  const reload = async (): Promise<boolean> => {
    try {
      const [cert, key, ca] = await Promise.all([readFile(tls.cert), readFile(tls.key), tls.ca === undefined ? undefined : readFile(tls.ca)]);
      const fingerprint = fingerprintOf(cert, key, ca);
      // A watch fires on any change in the directory: unchanged files are not a reload.
      if (fingerprint === last) return true;
      const options = secureOptions(tls, { cert, key, ...(ca !== undefined && { ca }) });
      // Throws on a key that is not the certificate's: nothing is swapped then.
      createSecureContext(options);
      server.setSecureContext(options);
      last = fingerprint;
      metrics.tlsReload('success');
      const expires = notAfter(cert);
      if (expires !== undefined) metrics.tlsCertificateExpiry(name, expires);
      logger.info({ event: 'tls', listener: name, cert: tls.cert, notAfter: expires }, `certificate of ${name} reloaded`);
      return true;
    } catch (err) {
      metrics.tlsReload('error');
      // The OpenSSL reason or the errno: never the files' content.
      const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      logger.error(
        { event: 'tls', listener: name, cert: tls.cert, key: tls.key, err: why },
        `certificate of ${name} not reloaded (${why}); the previous one keeps serving`,
      );
      return false;
    }
  };
  const initial = readFileSync(tls.cert);
  last = fingerprintOf(initial, readFileSync(tls.key), tls.ca === undefined ? undefined : readFileSync(tls.ca));
  const expires = notAfter(initial);
  if (expires !== undefined) metrics.tlsCertificateExpiry(name, expires);
  const files = [...new Set([tls.cert, tls.key, ...(tls.ca === undefined ? [] : [tls.ca])])];
  const watchers = files.map((file) => watchConfigFile(file, () => void reload()));
  return {
    reload,
    close: () => watchers.forEach((watcher) => watcher.close()),
  };
}

function fingerprintOf(cert: Buffer, key: Buffer, ca: Buffer | undefined): string {
  return createHash('sha256')
    .update(cert)
    .update('\0')
    .update(key)
    .update('\0')
    .update(ca ?? '')
    .digest('hex');
}
