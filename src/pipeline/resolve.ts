import { dirname } from 'node:path';
import type { SourceLoc } from '../errors/index.js';
import { quirkReports } from '../hardware/apply.js';
import { hardwareSearchPath, loadCatalog, pickHardware, type HardwareDescription } from '../hardware/catalog.js';
import { loadProfile } from '../profile/load.js';
import { resolveProfile, type ResolvedProfile } from '../profile/resolve.js';
import { sourceRoots } from '../schema/host-files.js';
import { nodeAt } from '../yaml/located.js';
import { closurePackages, type PackageSource } from './packages.js';

export interface ResolveOptions {
  readonly profile: string;
  /** Hardware ids from the command line; they replace the profile's own selection. */
  readonly hardware?: readonly string[];
  readonly hardwareDirs?: readonly string[];
  /** Folders the profile's paths may also lead into (--source-root, BOOTFORGE_SOURCE_ROOTS). */
  readonly sourceRoots?: readonly string[];
  /** The kernel release quirks are gated against; unknown until the lock says. */
  readonly kernelVersion?: string;
}

/** Profile + hardware → the resolved profile every later stage reads. */
export function resolve(options: ResolveOptions): { resolved: ResolvedProfile; catalog: HardwareDescription[] } {
  const allowed = options.sourceRoots ?? [];
  const profile = loadProfile(options.profile, { sourceRoots: allowed });
  const catalog = loadCatalog(
    hardwareSearchPath(options.hardwareDirs ?? []),
    sourceRoots(dirname(profile.path), allowed),
  );
  const selection = profile.data.hardware;
  let mode: 'fixed' | 'auto';
  let ids: { id: string; loc?: SourceLoc }[];
  if (options.hardware && options.hardware.length > 0) {
    mode = 'fixed';
    ids = options.hardware.map((id) => ({ id }));
  } else if (selection === 'auto') {
    mode = 'auto';
    ids = catalog.map((d) => ({ id: d.id }));
  } else {
    mode = Array.isArray(selection) ? 'fixed' : 'auto';
    const list = Array.isArray(selection) ? selection : selection.auto;
    const listPath = Array.isArray(selection) ? ['hardware'] : ['hardware', 'auto'];
    ids = list.map((id, i) => {
      const found = nodeAt(profile.tree, [...listPath, i]);
      return { id, loc: (found.node ?? found.nearest).loc };
    });
  }
  const picked = pickHardware(catalog, ids);
  const quirks = quirkReports(picked, options.kernelVersion);
  const resolved = resolveProfile(profile, {
    mode,
    ids: picked.map((d) => d.id),
    quirks,
    match: picked.map((d) => ({ id: d.id, rules: d.data.match, generic: d.data.generic })),
  });
  return { resolved, catalog };
}

/**
 * Hardware quirks gated on a kernel version are pending until the packages fix the kernel.
 * Resolves the closures (the lock's when current) to find the kernel image package's
 * version, and resolves the profile again against it: what is built then carries exactly
 * the quirks for the kernel it installs.
 */
export async function resolveForKernel(
  options: ResolveOptions,
  resolved: ResolvedProfile,
  source: PackageSource,
): Promise<ResolvedProfile> {
  if (options.kernelVersion !== undefined || !resolved.hardware.quirks.some((q) => q.status === 'pending')) {
    return resolved;
  }
  const packages = await closurePackages(resolved, source);
  const kernel = packages.system.find((p) => /^linux-image-\d/.test(p.name));
  if (kernel === undefined) return resolved;
  return resolve({ ...options, kernelVersion: kernel.version.replace(/^\d+:/, '') }).resolved;
}
