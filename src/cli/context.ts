import type { ResolveOptions } from '../pipeline/resolve.js';
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

export interface HardwareCliOptions {
  hardware?: string[];
  hardwareDir?: string[];
  kernelVersion?: string;
}

/** What `resolve()` takes, from a command's parsed options. */
export function resolveOptionsOf(profile: string, o: HardwareCliOptions): ResolveOptions {
  return {
    profile,
    ...(o.hardware ? { hardware: o.hardware } : {}),
    ...(o.hardwareDir ? { hardwareDirs: o.hardwareDir } : {}),
    ...(o.kernelVersion ? { kernelVersion: o.kernelVersion } : {}),
  };
}
