/**
 * The line `mirrorgate check` prints about `access:`: open to everyone (said plainly, since that
 * is what a gateway without it does), or how many rules decide, with whose users and from where.
 */
import type { Config } from '../config/types.js';

export function accessSummary(config: Config): string {
  const access = config.access;
  if (access === undefined) return 'access: open (no `access:` section): every client may pull every repository';
  const rules = `${access.rules.length} rule${access.rules.length === 1 ? '' : 's'}, first match wins, no match denied`;
  const users = access.htpasswd === undefined ? 'anonymous only' : `users from ${access.htpasswd}`;
  const networks = access.networks.length === 0 ? 'from any address' : `from ${access.networks.join(', ')} only`;
  return `access: ${rules}; ${users}; ${networks}`;
}
