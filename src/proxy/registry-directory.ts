/**
 * Which registry a request is for, and so which upstream group serves it (issue: several
 * registries behind one endpoint). In order: containerd's `?ns=<registry>` query parameter,
 * then the request's Host when it is a configured alias of a registry, else the default
 * registry (docker.io — what dockerd's registry-mirrors are used for).
 */
import type { UpstreamGroup } from './upstream-group.js';

export type RegistrySelection =
  { readonly ok: true; readonly group: UpstreamGroup } | { readonly ok: false; readonly unknown: string; readonly served: readonly string[] };

export class RegistryDirectory {
  readonly #groups: ReadonlyMap<string, UpstreamGroup>;
  readonly #byHost: ReadonlyMap<string, UpstreamGroup>;
  readonly #default: UpstreamGroup;

  /** `groups` in config order, the default registry first; `hosts` maps alias → registry name. */
  constructor(groups: readonly UpstreamGroup[], hosts: ReadonlyMap<string, string>) {
    if (groups[0] === undefined) throw new Error('a registry directory needs the default registry');
    this.#default = groups[0];
    this.#groups = new Map(groups.map((group) => [group.registry, group]));
    this.#byHost = new Map(
      [...hosts].flatMap(([host, registry]) => {
        const group = this.#groups.get(registry);
        return group === undefined ? [] : [[host, group] as const];
      }),
    );
  }

  get groups(): Iterable<UpstreamGroup> {
    return this.#groups.values();
  }

  /** `ns`: the `ns` query parameter if any; `host`: the Host header as sent (port allowed). */
  select(ns: string | null, host: string | undefined): RegistrySelection {
    if (ns !== null && ns !== '') {
      const group = this.#groups.get(ns.toLowerCase());
      return group === undefined ? { ok: false, unknown: ns, served: [...this.#groups.keys()] } : { ok: true, group };
    }
    if (host !== undefined && this.#byHost.size > 0) {
      const group = this.#byHost.get(hostName(host));
      if (group !== undefined) return { ok: true, group };
    }
    return { ok: true, group: this.#default };
  }

  /** The group holding the upstream called `name` (names are unique across registries). */
  groupOf(name: string): UpstreamGroup | undefined {
    for (const group of this.#groups.values()) if (group.get(name) !== undefined) return group;
    return undefined;
  }

  /** Ready while some registry has an upstream that can take a request. */
  get ready(): boolean {
    for (const group of this.#groups.values()) if (group.ready) return true;
    return false;
  }
}

/** "Ghcr-Mirror.company.com:5000" → "ghcr-mirror.company.com"; "[::1]:5000" → "::1". */
function hostName(host: string): string {
  const lower = host.toLowerCase();
  if (lower.startsWith('[')) return lower.slice(1, lower.indexOf(']'));
  const colon = lower.lastIndexOf(':');
  return colon === -1 ? lower : lower.slice(0, colon);
}
