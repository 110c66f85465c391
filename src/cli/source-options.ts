import type { Command } from 'commander';
import { openPackageSource, repoSettingsOf, type SourceFlags } from '../pipeline/packages.js';
import { resolve, resolveForKernel } from '../pipeline/resolve.js';
import { resolveOptionsOf } from './context.js';
import { addOutputOptions, reporterFor } from './reporter.js';

export interface SourceCliOptions {
  mirror?: string;
  securityMirror?: string;
  keyring?: string;
  insecure?: boolean;
  aptDir?: string;
  cacheDir?: string;
  jobs?: string;
  json?: boolean;
  quiet?: boolean;
}

/** The options every command that reads the Debian archive shares. */
export function addSourceOptions(cmd: Command): Command {
  return addOutputOptions(cmd)
    .option('--mirror <url>', 'Debian mirror (default: BOOTFORGE_MIRROR, the profile, then the host apt sources)')
    .option('--security-mirror <url>', 'mirror of the security archive (default: <mirror>-security)')
    .option('--keyring <file>', 'OpenPGP keyring the repository is signed with')
    .option('--insecure', 'do not check repository signatures (hashes are still checked); warns on every use')
    .option('--apt-dir <dir>', 'read apt sources from this folder instead of /etc/apt')
    .option('--cache-dir <dir>', 'cache folder (default: $XDG_CACHE_HOME/bootforge)')
    .option('--jobs <n>', 'parallel downloads', '4');
}

export function sourceFlags(o: SourceCliOptions): SourceFlags {
  return {
    ...(o.mirror ? { mirror: o.mirror } : {}),
    ...(o.securityMirror ? { securityMirror: o.securityMirror } : {}),
    ...(o.keyring ? { keyring: o.keyring } : {}),
    ...(o.insecure ? { insecure: true } : {}),
    ...(o.aptDir ? { aptDir: o.aptDir } : {}),
    ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}),
    ...(o.jobs ? { jobs: Math.max(1, Number(o.jobs) || 4) } : {}),
  };
}

export interface ProfileCliOptions extends SourceCliOptions {
  hardware?: string[];
  hardwareDir?: string[];
  sourceRoot?: string[];
}

/**
 * What commands that build from a profile start with: the profile resolved for building (kernel
 * gates decided against the kernel its packages install), the package source, and the reporter.
 */
export async function openProfile(profilePath: string, o: ProfileCliOptions, reporter = reporterFor(o)) {
  const options = resolveOptionsOf(profilePath, o);
  const { resolved: first } = resolve(options);
  const source = openPackageSource(repoSettingsOf(first), sourceFlags(o), reporter);
  const resolved = await resolveForKernel(options, first, source);
  return { resolved, reporter, source };
}
