#!/usr/bin/env node
/**
 * mirrorgate's command line: argv → config → app → listen, and process signals → app.
 */
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runCacheCommand } from './cli/cache-command.js';
import { runClientConfig, type ClientConfigOptions } from './cli/client-config-command.js';
import { cacheSummary } from './cli/cache-summary.js';
import { runWarm } from './cli/warm-command.js';
import { upstreamTable } from './cli/upstream-table.js';
import { ConfigError, loadConfigFile } from './config/load.js';
import type { Config } from './config/types.js';
import { createLogger, lineAtomicStdout } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import { createApp } from './server/app.js';
import { reportWorkerFatal, runPrimary } from './server/cluster-primary.js';

const USAGE = `usage: mirrorgate <command> [options]

commands:
  serve   run the gateway
  check   validate a config file and print its upstream table
  cache   stats | ls | verify | gc | rm DIGEST on the config's cache directory
  warm    [IMAGE...] pull images into the cache now (default: the config's prefetch.images)
  client-config  print (or --write) what dockerd, containerd, podman and Kubernetes nodes need

options:
  -c, --config FILE   config file (default: conf/mirrorgate.yaml, or $MIRRORGATE_CONFIG)
      --no-watch      (serve) do not reload when the file changes; SIGHUP still reloads
      --platform P    (warm) platform to take from an index, e.g. linux/arm64; repeatable
      --gateway URL   (warm) pull through the gateway at URL instead of filling the cache here
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

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function loadOrExit(file: string): Promise<Config> {
  try {
    return await loadConfigFile(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(EXIT_INVALID);
  }
}

async function check(file: string): Promise<void> {
  const config = await loadOrExit(file);
  process.stdout.write(`${file}: valid\n\n${upstreamTable(config)}\n\n${cacheSummary(config)}\n`);
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

async function serve(file: string, watch: boolean): Promise<void> {
  const config = await loadOrExit(file);
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
    app = createApp(config, { logger, metrics: createMetrics({ clustered }) });
  } catch (err) {
    return fatal(`mirrorgate: cannot start: ${(err as Error).message}`, EXIT_INVALID);
  }

  try {
    const address = await app.listen();
    logger.info({ event: 'listening', address: address.address, port: address.port }, `mirrorgate listening on ${address.address}:${address.port}`);
  } catch (err) {
    const { code } = err as NodeJS.ErrnoException;
    const { host, port } = config.listen;
    const why = code === 'EADDRINUSE' ? 'the address is already in use' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    await app.gateway.destroy();
    return fatal(`mirrorgate: cannot listen on ${host}:${port}: ${why}`, EXIT_RUNTIME);
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
        platform: { type: 'string', multiple: true },
        gateway: { type: 'string' },
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
  if (values.version) return void process.stdout.write(`mirrorgate ${version()}\n`);
  const command = positionals[0] ?? 'help';
  if (values.help || command === 'help') return void process.stdout.write(USAGE);
  const file = values.config ?? process.env['MIRRORGATE_CONFIG'] ?? 'conf/mirrorgate.yaml';
  if (command === 'check') return check(file);
  if (command === 'cache') return cache(file, positionals.slice(1));
  if (command === 'serve') return serve(file, !values['no-watch']);
  if (command === 'warm') return warm(file, positionals.slice(1), values.platform ?? [], values.gateway);
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
