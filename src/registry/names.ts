/**
 * How a client's repository name becomes the name an upstream knows (PROTOCOL.md "Paths and
 * names"). Pure.
 */

export interface NamingRules {
  /** Docker Hub: a one-component name is an official image, `library/<name>`. */
  readonly dockerHub: boolean;
  /** Prepended upstream: ECR Public serves Docker Hub's images as `docker/library/<img>`. */
  readonly repositoryPrefix?: string;
}

export function upstreamName(name: string, rules: NamingRules): string {
  const hubName = rules.dockerHub && !name.includes('/') ? `library/${name}` : name;
  return rules.repositoryPrefix === undefined ? hubName : `${rules.repositoryPrefix}/${hubName}`;
}
