/**
 * The `registries:` map: the other registries the gateway serves, keyed by
 * the name clients use in image references (`ghcr.io`,
 * `registry.corp:5000`), each with optional virtual `hosts` and its own
 * `upstreams:` list. Docker Hub is not among them: the top-level
 * `upstreams:` serve it.
 */
import { isNode, isScalar, isSeq } from 'yaml';
import { readAuthority } from './authority.js';
import { readBalance } from './balance.js';
import type { Ctx } from './context.js';
import { DOCKER_HUB_HOSTS } from './defaults.js';
import { hostName, parseRegistryName } from './hostnames.js';
import { indexPath, keyPath } from './paths.js';
import { REGISTRY_KEYS } from './schema.js';
import { listField, readNamedSection, readSection, type Section } from './section.js';
import type { BalanceConfig, RegistryConfig, UpstreamConfig } from './types.js';
import { UniqueValues } from './unique.js';
import { readUpstreams, type UpstreamDefaults } from './upstreams.js';

/**
 * The registries in file order. Upstream names go into `names` like the
 * top-level ones; virtual hosts must be unique here, among all registries.
 */
export function readRegistries(
  ctx: Ctx,
  root: Section,
  defaults: UpstreamDefaults & { readonly balance: BalanceConfig },
  names: UniqueValues,
  cacheOn: boolean,
): RegistryConfig[] {
  const entry = root.entries.get('registries');
  // Absent or empty (`registries:` with every entry commented out) both mean "none", like an empty section.
  if (entry === undefined || entry.value === null || (isScalar(entry.value) && entry.value.value === null)) return [];
  const map = readNamedSection(ctx, entry.value, 'registries');
  if (map === undefined) return [];

  const registryNames = new UniqueValues();
  const hosts = new UniqueValues();
  const registries: RegistryConfig[] = [];
  for (const [key, { key: keyNode, value }] of map.entries) {
    const path = keyPath(map.path, key);
    const parsed = parseRegistryName(key);
    if (!parsed.ok) ctx.report(path, keyNode, parsed.message);
    else if (DOCKER_HUB_HOSTS.includes(parsed.value)) {
      ctx.report(path, keyNode, `"${parsed.value}" cannot be configured here: the top-level "upstreams" list serves Docker Hub; put its mirrors there`);
    } else registryNames.add(parsed.value, path, keyNode);

    const s = readSection(ctx, value, path, REGISTRY_KEYS);
    if (s === undefined) continue;
    const hostList = listField(ctx, s, 'hosts', 'host names', hostName, []);
    const hostsNode = s.entries.get('hosts')?.value;
    // listField gives a list only when every item passed, so item i is host i.
    if (hostList !== undefined && isSeq(hostsNode)) {
      hostList.forEach((host, i) => {
        const item = hostsNode.items[i];
        if (isNode(item)) hosts.add(host, indexPath(keyPath(path, 'hosts'), i), item);
      });
    }
    registries.push({
      name: parsed.ok ? parsed.value : key,
      hosts: hostList ?? [],
      upstreams: readUpstreams(ctx, s, defaults, names),
      balance: readBalance(ctx, s, defaults.balance),
      ...optionalAuthority(readAuthority(ctx, s, defaults, names, cacheOn)),
    });
  }
  registryNames.reportDuplicates(ctx, (name, line) => `duplicate registry "${name}" (registry names are not case-sensitive); first defined at line ${line}`);
  hosts.reportDuplicates(ctx, (host, line) => `duplicate host "${host}"; first used at line ${line}`);
  return registries;
}

/** `{ authority }` when there is one: the frozen Config has no key for an absent optional. */
export const optionalAuthority = (authority: UpstreamConfig | undefined): { authority?: UpstreamConfig } => (authority === undefined ? {} : { authority });
