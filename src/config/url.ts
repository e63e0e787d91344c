/**
 * Upstream base URLs. Stored without trailing slash so request paths can be
 * appended as `${url}/v2/...`; a base path (e.g. Nexus's
 * `/repository/docker-hub`) is kept.
 */
import { fail, ok, type Result } from './checks.js';

export function normaliseUpstreamUrl(s: string): Result<string> {
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return fail(`must be an absolute http:// or https:// URL, got string ${JSON.stringify(s)}`);
  }
  // Checked first and without echoing the value: the credentials may have come from `${VAR}`
  // and must not end up in logs.
  if (url.username !== '' || url.password !== '') {
    return fail('must not contain credentials (user:password@); configure registry auth elsewhere');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return fail(`must be an http:// or https:// URL, got string ${JSON.stringify(s)}`);
  }
  // Tested on the raw text: `new URL` drops an empty `?` or `#`.
  if (s.includes('?') || s.includes('#')) {
    return fail(`must not have a query string or fragment, got string ${JSON.stringify(s)}`);
  }
  const path = url.pathname.replace(/\/+$/, '');
  const base = `${url.protocol}//${url.host}`;
  if (path.endsWith('/v2')) {
    const fixed = `${base}${path.slice(0, -'/v2'.length)}`;
    return fail(`must not end with "/v2": the gateway appends /v2 itself; use ${JSON.stringify(fixed)}`);
  }
  return ok(`${base}${path}`);
}
