/**
 * The connection pools of one upstream, built from its config: its own origin, redirect
 * targets (CDNs), and token realms. Each keeps connections alive; TLS settings are shared.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { Agent, Pool } from 'undici';
import type { UpstreamConfig } from '../config/types.js';
import { guardedLookup } from './address-guard.js';

/** Token services answer one small request per token: a few connections are plenty. */
const REALM_CONNECTIONS = 4;

/**
 * Manifests, HEADs and tag lists get a pool of their own (issue 13): a blob body is paced by its
 * client, and 64 clients that stop reading hold all 64 blob connections; a small request
 * queued behind them would wait as long. Small requests are quick, so a few connections serve
 * many; never more than `maxConnections`, the operator's limit for one pool.
 */
const SMALL_CONNECTIONS = 16;

export class UpstreamPools {
  /** The upstream's own origin, for blob GETs. */
  readonly origin: Pool;
  /** The upstream's own origin, for everything else (manifests, HEADs, tag lists): never behind a blob body. */
  readonly small: Pool;
  /** For redirect targets (CDNs): any origin, pooled per origin, internal addresses refused. */
  readonly offsite: Agent;
  /**
   * For token realms: any origin, without the internal-address guard — an in-house Harbor's
   * token service is legitimately internal, and its address comes from configuration-level
   * trust in the upstream rather than from a redirect.
   */
  readonly realms: Agent;
  /** `redirects.allowHosts`: the address guard of `offsite` lets these through, and so does the redirect step. */
  readonly allowedHosts: ReadonlySet<string>;

  constructor(config: UpstreamConfig) {
    const tls = {
      rejectUnauthorized: !config.tls.insecureSkipVerify,
      // Node's `ca` replaces the trusted roots; `tls.ca` is meant to add to them.
      ...(config.tls.ca === undefined ? {} : { ca: [...rootCertificates, readFileSync(config.tls.ca, 'utf8')] }),
    };
    const timeouts = {
      headersTimeout: config.timeouts.headersMs,
      // undici's bodyTimeout is the longest gap between two body chunks: exactly "idle".
      bodyTimeout: config.timeouts.idleMs,
    };
    const connect = { timeout: config.timeouts.connectMs, ...tls };
    const origin = new URL(config.url).origin;
    this.origin = new Pool(origin, { connections: config.maxConnections, ...timeouts, connect });
    this.small = new Pool(origin, { connections: Math.min(SMALL_CONNECTIONS, config.maxConnections), ...timeouts, connect });
    this.allowedHosts = new Set(config.redirects.allowHosts);
    const guard = config.redirects.allowPrivate ? {} : { lookup: guardedLookup(this.allowedHosts) };
    this.offsite = new Agent({ connections: config.maxConnections, ...timeouts, connect: { ...connect, ...guard } });
    this.realms = new Agent({ connections: REALM_CONNECTIONS, ...timeouts, connect });
  }

  /** Lets in-flight requests finish, then closes the connections. */
  async close(): Promise<void> {
    await Promise.all([this.origin.close(), this.small.close(), this.offsite.close(), this.realms.close()]);
  }

  /** Cuts every connection now. */
  async destroy(): Promise<void> {
    await Promise.all([this.origin.destroy(), this.small.destroy(), this.offsite.destroy(), this.realms.destroy()]);
  }

  /** Requests waiting for a connection of the upstream's own origin: every connection of that pool is busy. */
  get saturated(): boolean {
    return this.origin.stats.queued > 0 || this.small.stats.queued > 0;
  }
}
