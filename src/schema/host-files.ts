import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BootforgeError, type SourceLoc } from '../errors/index.js';
import { openInput, readInput, type InputKind } from '../fsutil/read-input.js';

/**
 * Files on the build host that a profile or hardware description names (extends, a file's
 * source:, hashedPasswordFile). A shared profile must not copy the host's secrets into an image,
 * so such a path must resolve, after symbolic links, inside the top profile's folder, bootforge's
 * bundled profiles and hardware, a hardware description's own folder, or a folder the person
 * running bootforge allowed (--source-root, BOOTFORGE_SOURCE_ROOTS).
 */

export const BUNDLED_PROFILES_DIR = fileURLToPath(new URL('../../profiles/', import.meta.url));
export const BUNDLED_HARDWARE_DIR = fileURLToPath(new URL('../../hardware/', import.meta.url));

/** The folders allowed on the command line (--source-root, repeatable), then by BOOTFORGE_SOURCE_ROOTS (colon-separated). */
export function allowedSourceRoots(flags: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): string[] {
  const fromEnv = (env.BOOTFORGE_SOURCE_ROOTS ?? '').split(':').filter((d) => d !== '');
  return [...flags, ...fromEnv].map((d) => resolve(d));
}

/** Where paths named by a profile in `folder` (none for hardware commands) may lead. */
export function sourceRoots(folder: string | undefined, allowed: readonly string[]): string[] {
  return [...(folder === undefined ? [] : [resolve(folder)]), BUNDLED_PROFILES_DIR, BUNDLED_HARDWARE_DIR, ...allowed];
}

/** A host file checked when its profile was loaded: its real path, and the bounds to read it with. */
export interface HostFile {
  readonly path: string;
  readonly kind: InputKind;
  readonly within: readonly string[];
  readonly loc: SourceLoc;
}

/**
 * Resolves `ref`, relative to the file that names it, and refuses it when it leads outside
 * `within`, is not a regular file or exceeds its kind's bound. Build steps read the result with
 * readHostFile, so the file checked is the file read.
 */
export function checkHostFile(
  ref: string,
  namedIn: string,
  options: { kind: InputKind; within: readonly string[]; loc: SourceLoc },
): HostFile {
  const input = openInput(resolve(dirname(namedIn), ref), options);
  input.close();
  return { path: input.realPath, ...options };
}

/** Reads a checked host file, checking place, type and size again as it reads. */
export function readHostFile(file: HostFile): Buffer {
  return readInput(file.path, file);
}

/** The checked file for a data path ("files[0].source"); every such path was checked at load. */
export function checkedHostFile(sources: ReadonlyMap<string, HostFile>, key: string): HostFile {
  const file = sources.get(key);
  if (file === undefined) throw new BootforgeError('BF_INTERNAL', `${key} names a host file that was not checked`);
  return file;
}
