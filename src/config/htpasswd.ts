/**
 * The htpasswd format `access.htpasswd` names: one `user:hash` a line, as `htpasswd -B` writes
 * it. Only bcrypt hashes (`$2y$`, `$2b$`, `$2a$`) are taken, as distribution's registry does:
 * the MD5, SHA-1 and crypt(3) forms are fast to brute-force. Blank lines and `#` comments are
 * skipped. Problems name the line and the user, never a hash. Pure: the file checks (file-checks.ts)
 * and the access layer (access/htpasswd-file.ts) both read through it.
 */

const BCRYPT = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;

export interface Htpasswd {
  /** User name → bcrypt hash. */
  readonly users: ReadonlyMap<string, string>;
  /** 1-based line numbers in the file. */
  readonly problems: readonly { readonly line: number; readonly message: string }[];
}

export function parseHtpasswd(text: string): Htpasswd {
  const users = new Map<string, string>();
  const problems: { line: number; message: string }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const user = colon === -1 ? '' : line.slice(0, colon);
    const hash = colon === -1 ? '' : line.slice(colon + 1);
    if (user === '') problems.push({ line: i + 1, message: 'expected "user:bcrypt-hash"' });
    else if (!BCRYPT.test(hash)) problems.push({ line: i + 1, message: `user ${JSON.stringify(user)}: only bcrypt hashes are accepted (htpasswd -B)` });
    else if (users.has(user)) problems.push({ line: i + 1, message: `user ${JSON.stringify(user)} is listed twice` });
    else users.set(user, hash);
  });
  return { users, problems };
}
