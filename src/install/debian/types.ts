import type { FsTree } from '../../fstree/tree.js';
import type { BlobStore } from '../../fstree/types.js';
import type { UnpackedPackage } from '../../packages/unpack.js';

export interface DebianOptions {
  readonly init: 'systemd' | 'busybox';
  /** The profile's services.enable: unit names, ".service" implied when no suffix is given. */
  readonly enable: readonly string[];
  /** The profile's services.disable. */
  readonly disable: readonly string[];
  /** Seconds since the epoch of the build (SOURCE_DATE_EPOCH): the "last password change" day of /etc/shadow. */
  readonly epochSeconds: number;
  /** dpkg's native architecture (default amd64). */
  readonly architecture?: string;
}

export interface DebianInput {
  /** The system's packages in install order (dependencies first), as unpacked. */
  readonly packages: readonly UnpackedPackage[];
  readonly blobs: BlobStore;
  /** The assembled tree of those packages; read only. */
  readonly tree: FsTree;
  readonly options: DebianOptions;
}

export interface DebianFile {
  readonly path: string;
  readonly data: Buffer;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

export interface DebianDir {
  readonly path: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

export interface DebianSymlink {
  readonly path: string;
  readonly target: string;
}

/** One maintainer-script command and what bootforge made of it. */
export interface ScriptAction {
  readonly package: string;
  /** The command as written in the script ("update-alternatives --install /usr/bin/awk awk ..."). */
  readonly line: string;
  /** What bootforge did, or why nothing needs doing. */
  readonly note: string;
}

export interface DebianReport {
  /** Commands bootforge reproduced, or that need nothing because the booted system does it itself. */
  readonly handled: readonly ScriptAction[];
  /** Commands with an effect bootforge did not reproduce: the system may differ from a dpkg-installed one there. */
  readonly unhandled: readonly ScriptAction[];
}

/**
 * What a Debian system gets from dpkg and its maintainer scripts, as files to
 * add to the package tree. Apply in this order: `remove`, then `dirs` (create,
 * or set the metadata of the directory already there), `files` and `symlinks`
 * (both replace whatever is at their path).
 */
export interface DebianConfiguration {
  readonly remove: readonly string[];
  readonly dirs: readonly DebianDir[];
  readonly files: readonly DebianFile[];
  readonly symlinks: readonly DebianSymlink[];
  readonly report: DebianReport;
}
