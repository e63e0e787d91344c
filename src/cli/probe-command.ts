/**
 * `mirrorgate probe [-c FILE] [--image REF]... [--rounds N] [--platform P] [--json]` (issue 10
 * §3): measures every upstream of every registry of the config from where it runs
 * (probe-measure.ts), then prints the table and the weights it suggests as YAML
 * (probe-report.ts), or JSON. It needs no gateway: it uses the gateway's upstream code directly.
 */
import { parsePlatformText, resolveImage } from '../config/prefetch.js';
import type { Config, Platform, PrefetchImage } from '../config/types.js';
import { hostPlatform } from '../registry/platforms.js';
import { probeRegistry, type ProbeImage, type RegistryProbe } from './probe-measure.js';
import { createProbeProgress } from './probe-progress.js';
import { probeJson, probeTable, weightsYaml } from './probe-report.js';

export const PROBE_USAGE = `usage: mirrorgate probe [-c FILE] [--image REF]... [--rounds N] [--platform P] [--json]

  --image REF       the image whose largest layer the throughput is measured on, per registry
                    (nginx:1.27, ghcr.io/org/app:1.2); default: the registry's first
                    prefetch.images entry, else for docker.io library/alpine:latest
  --rounds N        rounds per mirror (default 3): the success rate is over these
  --platform P      the platform taken from an index (default: the host's)
  --json            print JSON instead of the table and YAML
`;

export interface ProbeCommandOptions {
  readonly images: readonly string[];
  readonly rounds: string | undefined;
  readonly platforms: readonly string[];
  readonly json: boolean;
}

const DEFAULT_ROUNDS = 3;
const MAX_ROUNDS = 100;
/** Bytes of the layer read per round: enough for TCP to reach speed on a fast link, little enough to be quick. */
export const SAMPLE_BYTES = 16 * 1024 * 1024;
/** A small public image, for docker.io when nothing else names one. */
const DEFAULT_HUB_IMAGE = 'library/alpine:latest';

/** Exit codes: 0 every round at every mirror succeeded, 1 some failed, 2 bad usage. */
export async function runProbe(config: Config, options: ProbeCommandOptions, signal: AbortSignal, sampleBytes = SAMPLE_BYTES): Promise<number> {
  const parsed = parseOptions(config, options);
  if (typeof parsed === 'string') {
    process.stderr.write(`mirrorgate probe: ${parsed}\n\n${PROBE_USAGE}`);
    return 2;
  }
  const { rounds, platform, images } = parsed;
  const total = config.registries.reduce((sum, r) => sum + r.upstreams.length, 0) * rounds;
  const progress = createProbeProgress(process.stderr, total, rounds);
  const probes: RegistryProbe[] = [];
  try {
    for (const registry of config.registries) {
      if (signal.aborted) break;
      probes.push(await probeRegistry(registry, images.get(registry.name), { rounds, sampleBytes, platform }, signal, progress.events));
    }
  } finally {
    progress.stop();
  }
  process.stdout.write(options.json ? `${probeJson(probes, rounds)}\n` : `${probeTable(probes, rounds)}\n\n${weightsYaml(probes)}\n`);
  if (signal.aborted) return 1;
  return probes.every((p) => p.mirrors.every((m) => m.success === 1)) ? 0 : 1;
}

interface Parsed {
  readonly rounds: number;
  readonly platform: Platform;
  readonly images: ReadonlyMap<string, ProbeImage>;
}

function parseOptions(config: Config, options: ProbeCommandOptions): Parsed | string {
  const rounds = options.rounds === undefined ? DEFAULT_ROUNDS : Number(options.rounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > MAX_ROUNDS)
    return `--rounds must be a whole number from 1 to ${MAX_ROUNDS}, got ${JSON.stringify(options.rounds)}`;
  let platform = hostPlatform();
  if (options.platforms.length > 1) return '--platform: give one platform';
  if (options.platforms.length === 1) {
    const p = parsePlatformText(options.platforms[0]!);
    if (!p.ok) return `--platform ${p.message}`;
    platform = p.value;
  }
  const served = config.registries.map((r) => r.name);
  const images = new Map<string, ProbeImage>();
  const take = (image: PrefetchImage): void => void (images.has(image.registry) || images.set(image.registry, image));
  for (const text of options.images) {
    const image = resolveImage(text, served);
    if (!image.ok) return `--image ${image.message}`;
    if (images.has(image.value.registry)) return `--image: give one image per registry (two for ${image.value.registry})`;
    take(image.value);
  }
  for (const image of config.prefetch?.images ?? []) take(image);
  const hub = resolveImage(DEFAULT_HUB_IMAGE, served);
  if (hub.ok) take(hub.value);
  return { rounds, platform, images };
}
