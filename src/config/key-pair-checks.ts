/**
 * A listener's certificate and key, tried together the way the server will load them
 * (tls.createSecureContext): a key that belongs to another certificate, or a file that is not
 * what it says, is a config problem at `tls:` before `serve` binds anything, and `check` finds it
 * too. The message names the files and OpenSSL's reason, never their content.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { KeyPairReference } from './file-references.js';
import type { ConfigProblem } from './types.js';

/** Undefined when `cert` and `key` load as one pair; else why not. */
export function keyPairProblem(cert: Buffer, key: Buffer): string | undefined {
  try {
    createSecureContext({ cert, key });
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

export function checkKeyPairs(pairs: readonly KeyPairReference[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const pair of pairs) {
    let why: string | undefined;
    try {
      why = keyPairProblem(readFileSync(pair.cert), readFileSync(pair.key));
    } catch (err) {
      why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    }
    if (why !== undefined) {
      problems.push({
        path: pair.path,
        line: pair.line,
        col: pair.col,
        message: `certificate ${pair.cert} and key ${pair.key} cannot be used together (${why})`,
      });
    }
  }
  return problems;
}
