/**
 * The client's `Authorization: Basic` header (RFC 7617), as `docker login`, containerd's
 * hosts.toml credentials and skopeo `--src-creds` send it. Anything else (a Bearer token, a
 * malformed value) is no credentials at all: the client gets the Basic challenge.
 */

export interface BasicCredentials {
  readonly user: string;
  /** Never logged, never a metric label, never stored: only its hash keys the verification cache. */
  readonly password: string;
}

export function parseBasic(header: string | undefined): BasicCredentials | undefined {
  if (header === undefined) return undefined;
  const match = /^basic[ \t]+([A-Za-z0-9+/=]+)[ \t]*$/i.exec(header);
  if (match === null) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
