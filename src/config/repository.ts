/**
 * How an upstream names repositories: Docker Hub's `library/` rule
 * (`dockerHub`) and a path prepended to every name (`repositoryPrefix`).
 */
import { expected, fail, ok, scalarValue, type Check } from './checks.js';
import { DOCKER_HUB_HOSTS } from './defaults.js';

/** `dockerHub:` when absent: whether the (normalised) upstream URL is on one of Docker Hub's hosts. */
export function isDockerHubUrl(url: string | undefined): boolean {
  if (url === undefined) return false;
  try {
    return DOCKER_HUB_HOSTS.includes(new URL(url).hostname);
  } catch {
    return false;
  }
}

// Repository path components, a stricter form of distribution's grammar (which also allows "__" and runs of "-").
const COMPONENT = '[a-z0-9]+(?:[._-][a-z0-9]+)*';
const PREFIX_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);

const PREFIX_EXPECTED =
  'a repository path such as "docker" or "proxy/docker-hub" ' +
  '(components of lowercase letters and digits with single ".", "_" or "-" between them, joined by "/")';

export const repositoryPrefix: Check<string> = (node) => {
  const v = scalarValue(node);
  if (typeof v === 'string' && (v.startsWith('/') || v.endsWith('/'))) {
    return fail(`must not start or end with "/", got string ${JSON.stringify(v)}`);
  }
  return typeof v === 'string' && PREFIX_RE.test(v) ? ok(v) : expected(PREFIX_EXPECTED, node);
};
