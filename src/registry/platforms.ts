/**
 * Platforms (`os/architecture[/variant]`) and picking an index's manifests for them, as
 * containerd's platform matcher does for the common cases. Pure.
 */

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

/** One entry of an OCI index / Docker manifest list. */
export interface IndexEntry {
  readonly digest: string;
  readonly mediaType?: string;
  readonly size?: number;
  readonly platform?: Platform;
}

const PART = /^[a-z0-9_.-]+$/;

export function parsePlatform(text: string): Platform | undefined {
  const parts = text.split('/');
  if (parts.length < 2 || parts.length > 3 || !parts.every((part) => PART.test(part))) return undefined;
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

export function platformText(p: Platform): string {
  return p.variant === undefined ? `${p.os}/${p.architecture}` : `${p.os}/${p.architecture}/${p.variant}`;
}

/** Node's names for CPUs → the OCI ones (GOARCH values). */
const ARCHITECTURES: Readonly<Record<string, string>> = {
  x64: 'amd64',
  ia32: '386',
  arm64: 'arm64',
  arm: 'arm',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
};

/** The host's platform; images run on Linux even from a macOS host (in its VM). */
export function hostPlatform(arch: string = process.arch, os: string = process.platform): Platform {
  return { os: os === 'win32' ? 'windows' : 'linux', architecture: ARCHITECTURES[arch] ?? arch };
}

/** The variant an architecture means when none is written: arm64 is v8, arm is v7 (containerd's normalisation). */
const DEFAULT_VARIANT: Readonly<Record<string, string>> = { arm64: 'v8', arm: 'v7' };

function matches(wanted: Platform, offered: Platform | undefined): boolean {
  if (offered === undefined || offered.os !== wanted.os || offered.architecture !== wanted.architecture) return false;
  const implied = DEFAULT_VARIANT[wanted.architecture];
  const want = wanted.variant ?? implied;
  // No variant asked for, and none implied: any variant of the architecture will do.
  if (want === undefined) return true;
  return (offered.variant ?? implied) === want;
}

export interface PlatformSelection {
  /** One entry per platform found, in the order the platforms were asked for, without repeats. */
  readonly entries: readonly IndexEntry[];
  /** Platforms the index has no manifest for. */
  readonly missing: readonly Platform[];
}

/** The first entry of `index` for each of `wanted`. */
export function selectPlatforms(index: readonly IndexEntry[], wanted: readonly Platform[]): PlatformSelection {
  const entries: IndexEntry[] = [];
  const missing: Platform[] = [];
  for (const platform of wanted) {
    const found = index.find((entry) => matches(platform, entry.platform));
    if (found === undefined) missing.push(platform);
    else if (!entries.includes(found)) entries.push(found);
  }
  return { entries, missing };
}
