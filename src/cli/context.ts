import type { ResolveOptions } from '../pipeline/resolve.js';
import { allowedSourceRoots } from '../schema/host-files.js';
import { useColor, type Style } from './report.js';

/** What every command gets: where to print, and how. */
export interface CliContext {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly style: Style;
}

export function processContext(): CliContext {
  return {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    style: { color: useColor(process.stdout) },
  };
}

export function collectList(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').filter((v) => v !== '')];
}

/** The options that pick hardware descriptions, shared by every command that reads a profile. */
export const HARDWARE_OPTION = [
  '--hardware <id...>',
  "hardware description ids (replace the profile's own selection)",
  collectList,
] as const;
export const HARDWARE_DIR_OPTION = [
  '--hardware-dir <dir...>',
  'extra folders of hardware descriptions, searched first',
  collectList,
] as const;

/** Each use adds one folder (a folder name may hold a comma). */
function collectRepeated(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Folders a profile's paths may lead into beyond its own, for every command that reads a profile. */
export const SOURCE_ROOT_OPTION = [
  '--source-root <dir>',
  "let the profile read files in this folder too (repeatable; also BOOTFORGE_SOURCE_ROOTS=DIR:DIR); by default only the profile's own folder and bootforge's bundled profiles and hardware",
  collectRepeated,
] as const;

export interface HardwareCliOptions {
  hardware?: string[];
  hardwareDir?: string[];
  kernelVersion?: string;
  sourceRoot?: string[];
}

/** What `resolve()` takes, from a command's parsed options. */
export function resolveOptionsOf(
  profile: string,
  o: HardwareCliOptions,
  env: NodeJS.ProcessEnv = process.env,
): ResolveOptions {
  return {
    profile,
    ...(o.hardware ? { hardware: o.hardware } : {}),
    ...(o.hardwareDir ? { hardwareDirs: o.hardwareDir } : {}),
    sourceRoots: allowedSourceRoots(o.sourceRoot ?? [], env),
    ...(o.kernelVersion ? { kernelVersion: o.kernelVersion } : {}),
  };
}
