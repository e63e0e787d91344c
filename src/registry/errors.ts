/**
 * The one table of registry error codes mirrorgate answers with, and the one serializer for
 * their bodies. Codes and statuses follow the distribution spec's error table
 * (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#error-codes).
 */

export const REGISTRY_ERRORS = {
  UNSUPPORTED: { status: 405, message: 'the operation is unsupported' },
  NAME_INVALID: { status: 400, message: 'invalid repository name' },
  DIGEST_INVALID: { status: 400, message: 'provided digest did not match uploaded content' },
  MANIFEST_INVALID: { status: 400, message: 'manifest invalid' },
  NAME_UNKNOWN: { status: 404, message: 'repository name not known to registry' },
  MANIFEST_UNKNOWN: { status: 404, message: 'manifest unknown' },
  BLOB_UNKNOWN: { status: 404, message: 'blob unknown to registry' },
  NOT_FOUND: { status: 404, message: 'not found' },
  UNAUTHORIZED: { status: 401, message: 'authentication required' },
  DENIED: { status: 403, message: 'requested access to the resource is denied' },
  TOOMANYREQUESTS: { status: 429, message: 'too many requests' },
  // Not a distribution code: a request HTTP itself cannot frame (RFC 9112 §6.3).
  BAD_REQUEST: { status: 400, message: 'malformed request' },
  UNKNOWN: { status: 500, message: 'unknown error' },
  UNAVAILABLE: { status: 503, message: 'no upstream registry could answer the request' },
} as const satisfies Record<string, { status: number; message: string }>;

export type RegistryErrorCode = keyof typeof REGISTRY_ERRORS;

export interface RegistryErrorResponse {
  readonly status: number;
  readonly body: string;
}

/** Builds the `{"errors":[...]}` body dockerd and containerd understand, with the code's status. */
export function registryError(code: RegistryErrorCode, message?: string, detail?: unknown): RegistryErrorResponse {
  const entry = REGISTRY_ERRORS[code];
  const error: { code: string; message: string; detail?: unknown } = { code, message: message ?? entry.message };
  if (detail !== undefined) error.detail = detail;
  return { status: entry.status, body: JSON.stringify({ errors: [error] }) };
}

/** The codes of a registry error body (`{"errors":[{"code":…}]}`); none for anything else. */
export function errorCodes(body: Buffer): string[] {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { errors?: { code?: unknown }[] };
    return (Array.isArray(parsed.errors) ? parsed.errors : []).flatMap((e) => (typeof e?.code === 'string' ? [e.code] : []));
  } catch {
    return [];
  }
}
