/**
 * An `upstreams:` list (the top-level one or a registry's): each entry's own
 * keys, plus the rules that span entries (someone gets traffic; names are
 * unique across the whole file, which the caller judges via `names`).
 */
import { isAlias, isSeq } from 'yaml';
import { readAuth } from './auth.js';
import { readBreaker } from './breaker.js';
import { readHealth } from './health.js';
import { boolean, describe, duration, expected, fail, fromString, integer, ok, scalarValue, type Check } from './checks.js';
import type { Ctx } from './context.js';
import { DEFAULT_TIMEOUTS, DEFAULT_UPSTREAM } from './defaults.js';
import { fileField } from './file-field.js';
import { indexPath, keyPath } from './paths.js';
import { readRedirects } from './redirects.js';
import { isDockerHubUrl, repositoryPrefix } from './repository.js';
import { BREAKER_KEYS, REDIRECT_KEYS, TIMEOUT_KEYS, TLS_KEYS, UPSTREAM_KEYS } from './schema.js';
import { field, readSection, requiredField, subSection, type Section } from './section.js';
import type { BreakerConfig, HealthConfig, RedirectConfig, UpstreamConfig } from './types.js';
import type { UniqueValues } from './unique.js';
import { normaliseUpstreamUrl } from './url.js';

// Names end up in metric labels, log fields and URLs, hence the tight alphabet, and the length
// cap: every series and log line carries the name, and a 900 KB one was accepted (issue 13's fuzz).
const NAME_RE = /^[a-z0-9-]+$/;
const MAX_UPSTREAM_NAME = 64;
const upstreamName: Check<string> = (node) => {
  const v = scalarValue(node);
  // Before the alphabet: the value is not repeated in the message, which would be as long as it.
  if (typeof v === 'string' && v.length > MAX_UPSTREAM_NAME) return fail(`must be at most ${MAX_UPSTREAM_NAME} characters, got ${v.length}`);
  return typeof v === 'string' && NAME_RE.test(v) ? ok(v) : expected('a name of lowercase letters, digits and "-"', node);
};

const upstreamUrl = fromString('an absolute http:// or https:// URL', normaliseUpstreamUrl);

/** The global sections an upstream's own overrides are merged with. */
export interface UpstreamDefaults {
  readonly breaker: BreakerConfig;
  readonly redirects: RedirectConfig;
  readonly health: HealthConfig | undefined;
}

/** An upstream as read, with the fields the cross-entry checks need marked undefined when invalid. */
interface ReadUpstream {
  readonly config: UpstreamConfig;
  readonly name: string | undefined;
  readonly weight: number | undefined;
  readonly backup: boolean | undefined;
}

export function readUpstream(ctx: Ctx, s: Section, defaults: UpstreamDefaults): ReadUpstream {
  const name = requiredField(ctx, s, 'name', upstreamName);
  const url = requiredField(ctx, s, 'url', upstreamUrl);
  const weight = field(ctx, s, 'weight', integer(0), DEFAULT_UPSTREAM.weight);
  const backup = field(ctx, s, 'backup', boolean, DEFAULT_UPSTREAM.backup);
  const tls = subSection(ctx, s, 'tls', TLS_KEYS);
  const ca = fileField(ctx, tls, 'ca', 'ca');
  const timeouts = subSection(ctx, s, 'timeouts', TIMEOUT_KEYS);
  const auth = readAuth(ctx, s);
  const prefix = field<string | undefined>(ctx, s, 'repositoryPrefix', repositoryPrefix, undefined);
  const config: UpstreamConfig = {
    // Placeholders after a reported problem only keep the object well-typed: any problem makes parseConfig throw.
    name: name ?? '',
    url: url ?? '',
    weight: weight ?? DEFAULT_UPSTREAM.weight,
    backup: backup ?? DEFAULT_UPSTREAM.backup,
    tls: {
      insecureSkipVerify: field(ctx, tls, 'insecureSkipVerify', boolean, DEFAULT_UPSTREAM.insecureSkipVerify) ?? false,
      ...(ca !== undefined && { ca }),
    },
    timeouts: {
      connectMs: field(ctx, timeouts, 'connect', duration('> 0'), DEFAULT_TIMEOUTS.connectMs) ?? 0,
      headersMs: field(ctx, timeouts, 'headers', duration('> 0'), DEFAULT_TIMEOUTS.headersMs) ?? 0,
      idleMs: field(ctx, timeouts, 'idle', duration('> 0'), DEFAULT_TIMEOUTS.idleMs) ?? 0,
      queueMs: field(ctx, timeouts, 'queue', duration('> 0'), DEFAULT_TIMEOUTS.queueMs) ?? 0,
    },
    maxConnections: field(ctx, s, 'maxConnections', integer(1), DEFAULT_UPSTREAM.maxConnections) ?? 0,
    breaker: readBreaker(ctx, subSection(ctx, s, 'breaker', BREAKER_KEYS), defaults.breaker),
    ...(auth !== undefined && { auth }),
    redirects: readRedirects(ctx, subSection(ctx, s, 'redirects', REDIRECT_KEYS), defaults.redirects),
    health: readHealth(ctx, s, defaults.health),
    dockerHub: field(ctx, s, 'dockerHub', boolean, isDockerHubUrl(url)) ?? false,
    ...(prefix !== undefined && { repositoryPrefix: prefix }),
  };
  return { config, name, weight, backup };
}

export const duplicateUpstreamName = (name: string, firstLine: number): string => `duplicate upstream name "${name}"; first used at line ${firstLine}`;

/**
 * Reads `parent.upstreams` (required, non-empty). Each name is added to
 * `names`; the caller reports duplicates (with `duplicateUpstreamName`)
 * once every list in the file has been read.
 */
export function readUpstreams(ctx: Ctx, parent: Section, defaults: UpstreamDefaults, names: UniqueValues): UpstreamConfig[] {
  const listPath = keyPath(parent.path, 'upstreams');
  const entry = parent.entries.get('upstreams');
  if (entry === undefined) {
    ctx.report(listPath, parent.node, 'required key is missing');
    return [];
  }
  const list = entry.value;
  if (ctx.alreadyReported(list)) return [];
  if (!isSeq(list) || list.items.length === 0) {
    const got = isSeq(list) ? 'an empty sequence' : describe(list);
    ctx.report(listPath, list ?? entry.key, `must be a non-empty sequence of upstreams, got ${got}`);
    return [];
  }

  const upstreams: UpstreamConfig[] = [];
  // The "someone gets traffic" rule is only meaningful when every weight/backup could be read.
  let trafficKnown = true;
  let trafficPossible = false;
  list.items.forEach((item, i) => {
    const path = indexPath(listPath, i);
    const section = readSection(ctx, ctx.resolve(item), path, UPSTREAM_KEYS);
    if (section === undefined) {
      trafficKnown = false;
      return;
    }
    const u = readUpstream(ctx, section, defaults);
    upstreams.push(u.config);
    const nameNode = section.entries.get('name')?.value;
    if (u.name !== undefined && nameNode !== undefined && nameNode !== null) {
      // An aliased entry (`- *hub`) shares the anchor's name node, so point at the alias instead.
      names.add(u.name, keyPath(path, 'name'), isAlias(item) ? item : nameNode, nameNode);
    }
    if (u.weight === undefined || u.backup === undefined) trafficKnown = false;
    else if (!u.backup && u.weight > 0) trafficPossible = true;
  });
  if (trafficKnown && !trafficPossible) {
    ctx.report(listPath, list, 'at least one non-backup upstream needs weight > 0');
  }
  return upstreams;
}
