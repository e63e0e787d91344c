/**
 * Key paths as shown in problems: `upstreams[1].tls.ca`. Built up while
 * walking the YAML tree so every problem can say where it is without a
 * second lookup.
 */

export function keyPath(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}
