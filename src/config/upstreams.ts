/** The `upstreams:` list: each entry's own keys, plus the rules that span entries (unique names, someone gets traffic). */
import { isAlias, isSeq } from 'yaml';
import { BREAKER_KEYS, readBreaker } from './breaker.js';
import { boolean, describe, duration, expected, fromString, integer, nonEmptyString, ok, scalarValue, type Check } from './checks.js';
import type { Ctx } from './context.js';
import { DEFAULT_TIMEOUTS, DEFAULT_UPSTREAM } from './defaults.js';
import { indexPath, keyPath } from './paths.js';
import { field, readSection, requiredField, subSection, type Section } from './section.js';
import type { BreakerConfig, UpstreamConfig } from './types.js';
import { normaliseUpstreamUrl } from './url.js';

export const UPSTREAM_KEYS = ['name', 'url', 'weight', 'backup', 'tls', 'timeouts', 'maxConnections', 'breaker'] as const;
const TLS_KEYS = ['insecureSkipVerify', 'ca'] as const;
const TIMEOUT_KEYS = ['connect', 'headers', 'idle'] as const;

// Names end up in metric labels, log fields and URLs, hence the tight alphabet.
const NAME_RE = /^[a-z0-9-]+$/;
const upstreamName: Check<string> = (node) => {
  const v = scalarValue(node);
  return typeof v === 'string' && NAME_RE.test(v) ? ok(v) : expected('a name of lowercase letters, digits and "-"', node);
};

const upstreamUrl = fromString('an absolute http:// or https:// URL', normaliseUpstreamUrl);

/** An upstream as read, with the fields the cross-entry checks need marked undefined when invalid. */
interface ReadUpstream {
  readonly config: UpstreamConfig;
  readonly name: string | undefined;
  readonly weight: number | undefined;
  readonly backup: boolean | undefined;
}

function readUpstream(ctx: Ctx, s: Section, globalBreaker: BreakerConfig): ReadUpstream {
  const name = requiredField(ctx, s, 'name', upstreamName);
  const url = requiredField(ctx, s, 'url', upstreamUrl);
  const weight = field(ctx, s, 'weight', integer(0), DEFAULT_UPSTREAM.weight);
  const backup = field(ctx, s, 'backup', boolean, DEFAULT_UPSTREAM.backup);
  const tls = subSection(ctx, s, 'tls', TLS_KEYS);
  const ca = field<string | undefined>(ctx, tls, 'ca', nonEmptyString, undefined);
  const timeouts = subSection(ctx, s, 'timeouts', TIMEOUT_KEYS);
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
    },
    maxConnections: field(ctx, s, 'maxConnections', integer(1), DEFAULT_UPSTREAM.maxConnections) ?? 0,
    breaker: readBreaker(ctx, subSection(ctx, s, 'breaker', BREAKER_KEYS), globalBreaker),
  };
  return { config, name, weight, backup };
}

export function readUpstreams(ctx: Ctx, root: Section, globalBreaker: BreakerConfig): UpstreamConfig[] {
  const entry = root.entries.get('upstreams');
  if (entry === undefined) {
    ctx.report('upstreams', root.node, 'required key is missing');
    return [];
  }
  const list = entry.value;
  if (ctx.alreadyReported(list)) return [];
  if (!isSeq(list) || list.items.length === 0) {
    const got = isSeq(list) ? 'an empty sequence' : describe(list);
    ctx.report('upstreams', list ?? entry.key, `must be a non-empty sequence of upstreams, got ${got}`);
    return [];
  }

  const upstreams: UpstreamConfig[] = [];
  const firstNameLine = new Map<string, number>();
  // The "someone gets traffic" rule is only meaningful when every weight/backup could be read.
  let trafficKnown = true;
  let trafficPossible = false;
  list.items.forEach((item, i) => {
    const path = indexPath('upstreams', i);
    const section = readSection(ctx, ctx.resolve(item), path, UPSTREAM_KEYS);
    if (section === undefined) {
      trafficKnown = false;
      return;
    }
    const u = readUpstream(ctx, section, globalBreaker);
    upstreams.push(u.config);
    if (u.name !== undefined) {
      const nameNode = section.entries.get('name')?.value;
      const first = firstNameLine.get(u.name);
      // An aliased entry (`- *hub`) shares the anchor's name node, so point at the alias instead.
      const where = isAlias(item) ? item : nameNode;
      if (first === undefined) firstNameLine.set(u.name, ctx.lineOf(nameNode));
      else ctx.report(keyPath(path, 'name'), where, `duplicate upstream name "${u.name}"; first used at line ${first}`);
    }
    if (u.weight === undefined || u.backup === undefined) trafficKnown = false;
    else if (!u.backup && u.weight > 0) trafficPossible = true;
  });
  if (trafficKnown && !trafficPossible) {
    ctx.report('upstreams', list, 'at least one non-backup upstream needs weight > 0');
  }
  return upstreams;
}
