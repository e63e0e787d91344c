#!/usr/bin/env node
/**
 * mirrorgate's command line: argv → config → app → listen, and process signals → app.
 */
import cluster from 'node:cluster';
import { parseArgs } from 'node:util';
import { accessSummary } from './cli/access-summary.js';
import { runCacheCommand } from './cli/cache-command.js';
import { runClientConfig, type ClientConfigOptions } from './cli/client-config-command.js';
import { cacheSummary } from './cli/cache-summary.js';
import { runProbe, type ProbeCommandOptions } from './cli/probe-command.js';
import { runWarm } from './cli/warm-command.js';
import { upstreamTable } from './cli/upstream-table.js';
import { ConfigError, loadConfigFile, type ConfigOverrides } from './config/load.js';
import type { Config } from './config/types.js';
import { askHealth } from './cli/health-command.js';
import { packageVersion } from './observability/build-info.js';
import { createLogger, lineAtomicStdout, type Logger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import { createApp, type BoundListener } from './server/app.js';
import { reportWorkerFatal, runPrimary } from './server/cluster-primary.js';

const USAGE = `usage: mirrorgate <command> [options]

commands:
  serve   run the gateway
  check   validate a config file and print its upstream table
  cache   stats | ls | verify | gc | rm DIGEST on the config's cache directory
  warm    [IMAGE...] pull images into the cache now (default: the config's prefetch.images)
  health  GET /healthz of the gateway this config (and --listen/$MIRRORGATE_LISTEN) listens on;
          exit 0 when it answers 200 (a container HEALTHCHECK)
  probe   measure every upstream from here (/v2, token, TTFB, MiB/s, success) and suggest weights
  client-config  print (or --write) what dockerd, containerd, podman and Kubernetes nodes need

options:
  -c, --config FILE   config file (default: conf/mirrorgate.yaml, or $MIRRORGATE_CONFIG)
      --listen ADDR   (serve, check, health) listen on ADDR ("0.0.0.0:6000") instead of the file's
                      listen (also $MIRRORGATE_LISTEN; the flag wins)
      --no-watch      (serve) do not reload when the file changes; SIGHUP still reloads
      --platform P    (warm, probe) platform to take from an index, e.g. linux/arm64; repeatable
      --gateway URL   (warm) pull through the gateway at URL instead of filling the cache here
      --image REF     (probe) image whose largest layer is read, one per registry; repeatable
      --rounds N      (probe) rounds per upstream (default 3)
      --json          (probe) print JSON instead of the table and the YAML snippet
      --endpoint URL  (client-config) the URL clients reach the gateway by (default: the listener)
      --insecure      (client-config) clients skip verifying the gateway's certificate
      --ca FILE       (client-config) install this CA (PEM) for each client to trust the gateway's certificate
      --format F      (client-config) docker | containerd | podman | kubernetes (default: all)
      --write DIR     (client-config) write the files under DIR (DIR/etc/docker/daemon.json, …)
  -h, --help          this text
  -v, --version       print the version
`;

/** Exit codes: 0 ok, 1 runtime failure (e.g. port in use), 2 bad usage or invalid config. */
const EXIT_RUNTIME = 1;
const EXIT_INVALID = 2;

async function loadOrExit(file: string, overrides: ConfigOverrides = {}): Promise<Config> {
  try {
    return await loadConfigFile(file, process.env, overrides);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(EXIT_INVALID);
  }
}

/** `--listen` beats `MIRRORGATE_LISTEN`, which beats the file's `listen` (an empty variable counts as unset). */
function listenOverride(flag: string | undefined): ConfigOverrides {
  if (flag !== undefined) return { listen: { value: flag, from: '--listen' } };
  const env = process.env['MIRRORGATE_LISTEN'];
  return env === undefined || env === '' ? {} : { listen: { value: env, from: 'MIRRORGATE_LISTEN' } };
}

async function check(file: string, overrides: ConfigOverrides): Promise<void> {
  const config = await loadOrExit(file, overrides);
  process.stdout.write(`${file}: valid\n\n${upstreamTable(config)}\n\n${accessSummary(config)}\n${cacheSummary(config)}\n`);
}

async function health(file: string, overrides: ConfigOverrides): Promise<void> {
  const { url, status } = await askHealth((await loadOrExit(file, overrides)).listen);
  process.stdout.write(`${url}: ${status}\n`);
  process.exitCode = status === 200 ? 0 : EXIT_RUNTIME;
}

async function cache(file: string, args: readonly string[]): Promise<void> {
  const config = await loadOrExit(file);
  if (config.cache === undefined) {
    process.stderr.write(`mirrorgate: ${file} has no cache (cache: is left out or false)\n`);
    process.exit(EXIT_INVALID);
  }
  const { out, code } = await runCacheCommand(config.cache, args);
  (code === EXIT_INVALID ? process.stderr : process.stdout).write(out);
  process.exitCode = code;
}

async function warm(file: string, images: string[], platforms: string[], gateway: string | undefined): Promise<void> {
  const config = await loadOrExit(file);
  // Logs (a breaker opening, say) go to stderr: stdout is the progress.
  const logger = createLogger('warn', process.stderr);
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.exitCode = await runWarm(config, { images, platforms, gateway }, logger, abort.signal);
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
}

function announce(logger: Logger, { address, port, tls }: BoundListener): void {
  logger.info({ event: 'listening', address, port, tls }, `mirrorgate listening on ${tls ? 'https' : 'http'}://${address}:${port}`);
}

async function clientConfig(file: string, options: ClientConfigOptions): Promise<void> {
  const config = await loadOrExit(file);
  let result;
  try {
    result = await runClientConfig(config, options);
  } catch (err) {
    process.stderr.write(`mirrorgate: cannot write the client files: ${(err as Error).message}\n`);
    process.exit(EXIT_RUNTIME);
  }
  process.stdout.write(result.out);
  process.stderr.write(result.err);
  process.exitCode = result.code;
}

async function probe(file: string, options: ProbeCommandOptions): Promise<void> {
  const config = await loadOrExit(file);
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.exitCode = await runProbe(config, options, abort.signal);
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
}

async function serve(file: string, watch: boolean, overrides: ConfigOverrides): Promise<void> {
  const config = await loadOrExit(file, overrides);
  if (config.workers > 1 && cluster.isPrimary) {
    runPrimary({
      workers: config.workers,
      drainTimeoutMs: config.shutdown.drainTimeoutMs,
      logger: createLogger(config.log.level),
      cacheDir: config.cache?.dir,
    });
    return;
  }
  const clustered = cluster.isWorker;
  const logger = createLogger(config.log.level, clustered ? lineAtomicStdout() : undefined);
  /** One line on stderr and out — through the primary when clustered, so it is said once. */
  const fatal = (line: string, code: number): void => {
    if (reportWorkerFatal(line, code, () => process.exit(code))) return;
    process.stderr.write(`${line}\n`);
    process.exit(code);
  };
  // Registered first: the default action of SIGHUP would kill a gateway still starting up.
  let reload = (): void => logger.warn({ event: 'reload' }, 'SIGHUP before the gateway was listening: ignored');
  process.on('SIGHUP', () => reload());
  let app: ReturnType<typeof createApp>;
  try {
    app = createApp(config, { logger, metrics: createMetrics({ clustered }), overrides });
  } catch (err) {
    return fatal(`mirrorgate: cannot start: ${(err as Error).message}`, EXIT_INVALID);
  }

  try {
    for (const bound of await app.listen()) announce(logger, bound);
  } catch (err) {
    const { code } = err as NodeJS.ErrnoException;
    const where = (err as { listener?: string }).listener ?? app.listeners[0]?.name ?? '';
    const why = code === 'EADDRINUSE' ? 'the address is already in use' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    await app.gateway.destroy();
    return fatal(`mirrorgate: cannot listen on ${where}: ${why}`, EXIT_RUNTIME);
  }

  reload = () => void app.reload();
  if (watch) app.watchConfig();
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ event: 'shutdown', signal }, 'shutting down: draining in-flight requests');
    app.shutdown().then(
      () => {
        logger.info({ event: 'shutdown' }, 'stopped');
        logger.flush(() => process.exit(0));
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(EXIT_RUNTIME);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        'no-watch': { type: 'boolean' },
        listen: { type: 'string' },
        platform: { type: 'string', multiple: true },
        gateway: { type: 'string' },
        image: { type: 'string', multiple: true },
        rounds: { type: 'string' },
        json: { type: 'boolean' },
        endpoint: { type: 'string' },
        insecure: { type: 'boolean' },
        ca: { type: 'string' },
        format: { type: 'string' },
        write: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    process.stderr.write(`mirrorgate: ${(err as Error).message}\n\n${USAGE}`);
    process.exit(EXIT_INVALID);
  }
  const { values, positionals } = parsed;
  if (values.version) return void process.stdout.write(`mirrorgate ${packageVersion()}\n`);
  const command = positionals[0] ?? 'help';
  if (values.help || command === 'help') return void process.stdout.write(USAGE);
  const file = values.config ?? process.env['MIRRORGATE_CONFIG'] ?? 'conf/mirrorgate.yaml';
  if (command === 'check') return check(file, listenOverride(values.listen));
  if (command === 'cache') return cache(file, positionals.slice(1));
  if (command === 'health') return health(file, listenOverride(values.listen));
  if (command === 'serve') return serve(file, !values['no-watch'], listenOverride(values.listen));
  if (command === 'warm') return warm(file, positionals.slice(1), values.platform ?? [], values.gateway);
  if (command === 'probe') {
    if (positionals.length > 1) {
      process.stderr.write(`mirrorgate probe: unexpected argument "${positionals[1]}" (images go after --image)\n\n${USAGE}`);
      process.exit(EXIT_INVALID);
    }
    return probe(file, { images: values.image ?? [], rounds: values.rounds, platforms: values.platform ?? [], json: values.json === true });
  }
  if (command === 'client-config') {
    return clientConfig(file, {
      endpoint: values.endpoint,
      insecure: values.insecure ?? false,
      ca: values.ca,
      format: values.format,
      write: values.write,
    });
  }
  process.stderr.write(`mirrorgate: unknown command "${command}"\n\n${USAGE}`);
  process.exit(EXIT_INVALID);
}

await main(process.argv.slice(2));
