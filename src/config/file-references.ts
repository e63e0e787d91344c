/**
 * Files the config names by path: an upstream's `tls.ca` and
 * `auth.passwordFile`. Reading the config only records them (pure, see
 * file-field.ts); the checks that need the file system are in
 * file-checks.ts, run by `loadConfigFile` once the text itself is valid.
 *
 * A relative path is resolved against the directory of the config file (a
 * relative config file name is itself taken from the working directory), so
 * the Config always holds absolute paths and the result does not depend on
 * where the gateway happens to be started from. Absolute paths are kept as
 * written. `${VAR}` is substituted first, so `ca: ${CERTS}/corp.pem` with a
 * relative CERTS is resolved the same way.
 */
import { isAbsolute, resolve } from 'node:path';

/**
 * `ca`: a PEM bundle of CA certificates; `passwordFile`: a secret whose content is never shown;
 * `cert`/`key`: a listener's certificate chain and private key (the key a secret too);
 * `htpasswd`: `user:bcrypt-hash` lines (hashes never shown).
 */
export type FileKind = 'ca' | 'passwordFile' | 'cert' | 'key' | 'htpasswd';

/** One file path found in the config, with where its value is (1-based), for problems found later. */
export interface FileReference {
  /** Key path such as `upstreams[0].tls.ca` or `registries.ghcr.io.upstreams[0].auth.passwordFile`. */
  readonly path: string;
  readonly line: number;
  readonly col: number;
  readonly kind: FileKind;
  /** Absolute: resolved against the config file's directory. */
  readonly file: string;
}

/** The absolute form of a path written in a config file that lives in `baseDir`. */
export function resolveConfigPath(baseDir: string, value: string): string {
  return isAbsolute(value) ? value : resolve(baseDir, value);
}

/** A listener's `tls:` with both files named: checked as a pair once each file reads well. */
export interface KeyPairReference {
  /** `listen.tls`, `listen[0].tls`. */
  readonly path: string;
  readonly line: number;
  readonly col: number;
  readonly cert: string;
  readonly key: string;
}
