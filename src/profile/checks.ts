import { resolve } from 'node:path';
import { BootforgeError, isBootforgeError, type ErrorCode, type SourceLoc } from '../errors/index.js';
import type { InputKind } from '../fsutil/read-input.js';
import { MIN_ROOT_SIZE } from '../schema/fields.js';
import { checkHostFile, type HostFile } from '../schema/host-files.js';
import { displayPath } from '../schema/issues.js';
import { formatSize } from '../schema/size.js';
import { nodeAt, type LNode } from '../yaml/located.js';
import { formatLoc } from '../yaml/merge.js';
import type { ProfileData } from './schema.js';

function locIn(tree: LNode, path: readonly PropertyKey[]): SourceLoc {
  const found = nodeAt(tree, path);
  return (found.node ?? found.nearest).loc;
}

/**
 * Checks every host file the profile names (files[].source, users[].hashedPasswordFile): inside
 * `within`, a regular file, within its size bound. Build steps read exactly these files.
 */
export function checkHostFiles(
  data: ProfileData,
  tree: LNode,
  within: readonly string[],
): { files: ReadonlyMap<string, HostFile>; errors: BootforgeError[] } {
  const files = new Map<string, HostFile>();
  const errors: BootforgeError[] = [];
  const check = (path: readonly PropertyKey[], ref: string | undefined, kind: InputKind): void => {
    if (ref === undefined) return;
    const loc = locIn(tree, path);
    try {
      // A path is relative to the file that wrote it, which its location names.
      files.set(displayPath(path), checkHostFile(ref, resolve(loc.file), { kind, within, loc }));
    } catch (e) {
      if (!isBootforgeError(e)) throw e;
      const hint = e.code === 'BF_FILE_NOT_FOUND' ? 'the path is relative to the profile that names it' : e.hint;
      errors.push(new BootforgeError(e.code, `${displayPath(path)}: ${e.message}`, { loc, ...(hint ? { hint } : {}) }));
    }
  };
  // A file with both content and source is refused by checkProfile; its source is not read.
  data.files.forEach((f, i) =>
    check(['files', i, 'source'], f.content === undefined ? f.source : undefined, 'source file'),
  );
  data.users.forEach((u, i) => check(['users', i, 'hashedPasswordFile'], u.hashedPasswordFile, 'password hash file'));
  return { files, errors };
}

/** The installer's GPT, its backup and the 1 MiB alignment of each partition (stage-install.sh.hbs). */
const PARTITION_TABLE_BYTES = 4 * 1024 ** 2;

/** The least a disk must hold for this layout (a root without size at its minimum). */
function layoutNeed(layout: ProfileData['disk']['layout']): number {
  return layout.esp.size + layout.swap.size + (layout.root.size ?? MIN_ROOT_SIZE) + PARTITION_TABLE_BYTES;
}

/** Rules that span several fields; the schema checks each field alone. */
export function checkProfile(data: ProfileData, tree: LNode): BootforgeError[] {
  const errors: BootforgeError[] = [];
  const locOf = (path: readonly PropertyKey[]): SourceLoc => locIn(tree, path);
  const keyLocOf = (path: readonly PropertyKey[]): SourceLoc => {
    const found = nodeAt(tree, path);
    return found.keyLoc ?? (found.node ?? found.nearest).loc;
  };
  const fail = (
    code: ErrorCode,
    path: readonly PropertyKey[],
    message: string,
    extra: { hint?: string; related?: SourceLoc; key?: boolean } = {},
  ) => {
    errors.push(
      new BootforgeError(code, `${displayPath(path)}: ${message}`, {
        loc: extra.key ? keyLocOf(path) : locOf(path),
        ...(extra.hint ? { hint: extra.hint } : {}),
        ...(extra.related ? { related: extra.related } : {}),
      }),
    );
  };
  const uids = new Map<number, readonly PropertyKey[]>();
  data.users.forEach((user, i) => {
    const at = ['users', i] as const;
    if (user.hashedPassword !== undefined && user.hashedPasswordFile !== undefined) {
      fail('BF_INVALID_VALUE', [...at, 'hashedPasswordFile'], 'give hashedPassword or hashedPasswordFile, not both', {
        key: true,
      });
    }
    if (user.name === 'root' && user.uid !== undefined) {
      fail('BF_RESERVED_UID', [...at, 'uid'], 'root always has uid 0; omit uid');
    }
    if (user.uid !== undefined) {
      const first = uids.get(user.uid);
      if (first) {
        fail(
          'BF_DUPLICATE_ID',
          [...at, 'uid'],
          `uid ${user.uid} is also given to ${displayPath(first)} at ${formatLoc(locOf(first))}`,
          {
            related: locOf(first),
          },
        );
      } else uids.set(user.uid, [...at, 'uid']);
    }
  });

  data.files.forEach((file, i) => {
    const at = ['files', i] as const;
    const has = (file.content !== undefined ? 1 : 0) + (file.source !== undefined ? 1 : 0);
    if (has !== 1) {
      fail(
        'BF_FILE_SOURCE',
        at,
        has === 0 ? `${file.path} has neither content nor source` : `${file.path} has both content and source`,
      );
    }
  });

  data.tests.forEach((test, i) => {
    if (typeof test === 'string') return;
    const count = (test.succeed !== undefined ? 1 : 0) + (test.fail !== undefined ? 1 : 0);
    if (count !== 1) fail('BF_INVALID_VALUE', ['tests', i], 'a test needs exactly one of succeed and fail');
  });

  const { minSize, maxSize } = data.disk.target;
  if (minSize !== undefined && maxSize !== undefined && minSize > maxSize) {
    fail('BF_INVALID_VALUE', ['disk', 'target', 'maxSize'], 'maxSize is smaller than minSize');
  }
  const need = layoutNeed(data.disk.layout);
  if (maxSize !== undefined && need > maxSize) {
    fail(
      'BF_INVALID_VALUE',
      ['disk', 'layout'],
      `the partitions need at least ${formatSize(need)}, more than disk.target.maxSize (${formatSize(maxSize)})`,
      { key: true },
    );
  } else if (!Number.isSafeInteger(need)) {
    fail('BF_INVALID_VALUE', ['disk', 'layout'], 'the partitions add up to more than any disk holds', { key: true });
  }
  return errors;
}
