/**
 * Image references as people write them (`nginx:1.27`, `library/redis:7-alpine`,
 * `ghcr.io/org/app:1.2`, `app@sha256:…`), split into the registry, repository and reference the
 * gateway routes on. Pure. The first component names a registry when it looks like a host (has a
 * `.` or a `:`, or is `localhost`) — docker's rule, so `org/app` stays a Docker Hub name.
 */
import { isValidDigest, isValidName } from './route.js';

export interface ImageRef {
  /** The registry as written, lowercased; undefined when the reference names none (the default registry). */
  readonly registry: string | undefined;
  readonly name: string;
  /** A tag, or a digest (`sha256:…`). */
  readonly reference: string;
}

const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

export type ImageRefResult = { readonly ok: true; readonly image: ImageRef } | { readonly ok: false; readonly message: string };

export function parseImageRef(text: string): ImageRefResult {
  const bad = (why: string): ImageRefResult => ({ ok: false, message: `${JSON.stringify(text)} is not an image reference: ${why}` });
  const at = text.indexOf('@');
  const path = at === -1 ? text : text.slice(0, at);
  const slash = path.indexOf('/');
  const first = slash === -1 ? '' : path.slice(0, slash);
  const hasRegistry = first.includes('.') || first.includes(':') || first === 'localhost';
  const rest = hasRegistry ? path.slice(slash + 1) : path;
  const colon = rest.lastIndexOf(':');
  const name = colon === -1 ? rest : rest.slice(0, colon);
  const tag = colon === -1 ? undefined : rest.slice(colon + 1);
  if (!isValidName(name)) return bad(`"${name}" is not a repository name (lowercase components joined by "/")`);
  if (tag !== undefined && !TAG.test(tag)) return bad(`"${tag}" is not a tag`);
  if (at !== -1) {
    const digest = text.slice(at + 1);
    if (!isValidDigest(digest)) return bad(`"${digest}" is not a digest`);
    return { ok: true, image: { registry: hasRegistry ? first.toLowerCase() : undefined, name, reference: digest } };
  }
  return { ok: true, image: { registry: hasRegistry ? first.toLowerCase() : undefined, name, reference: tag ?? 'latest' } };
}

/** `nginx` on Docker Hub is `library/nginx`: the name dockerd asks for, so the tag memory is shared with its pulls. */
export function hubName(name: string): string {
  return name.includes('/') ? name : `library/${name}`;
}

/** How the image is shown in logs and progress: `registry/name:tag` or `name@digest`. */
export function imageText(registry: string, name: string, reference: string): string {
  return `${registry}/${name}${reference.includes(':') ? '@' : ':'}${reference}`;
}
