import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { BootforgeError, type ErrorCode, type SourceLoc } from '../errors/index.js';
import { displayPath } from '../schema/issues.js';
import { nodeAt, type LNode } from '../yaml/located.js';
import { formatLoc } from '../yaml/merge.js';
import type { ProfileData } from './schema.js';

/** Rules that span several fields, or need the file system; the schema checks each field alone. */
export function checkProfile(data: ProfileData, tree: LNode, _top: string): BootforgeError[] {
  const errors: BootforgeError[] = [];
  const locOf = (path: readonly PropertyKey[]): SourceLoc => {
    const found = nodeAt(tree, path);
    return (found.node ?? found.nearest).loc;
  };
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
  /** A host path is relative to the file that wrote it, which its location names. */
  const hostFile = (path: readonly PropertyKey[], value: string): string => resolve(locOf(path).file, '..', value);

  const uids = new Map<number, readonly PropertyKey[]>();
  data.users.forEach((user, i) => {
    const at = ['users', i] as const;
    if (user.hashedPassword !== undefined && user.hashedPasswordFile !== undefined) {
      fail('BF_INVALID_VALUE', [...at, 'hashedPasswordFile'], 'give hashedPassword or hashedPasswordFile, not both', {
        key: true,
      });
    }
    if (
      user.hashedPasswordFile !== undefined &&
      !existsSync(hostFile([...at, 'hashedPasswordFile'], user.hashedPasswordFile))
    ) {
      fail(
        'BF_FILE_NOT_FOUND',
        [...at, 'hashedPasswordFile'],
        `file ${JSON.stringify(user.hashedPasswordFile)} does not exist`,
        {
          hint: 'the path is relative to the profile that names it',
        },
      );
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
    } else if (file.source !== undefined && !existsSync(hostFile([...at, 'source'], file.source))) {
      fail('BF_FILE_NOT_FOUND', [...at, 'source'], `source file ${JSON.stringify(file.source)} does not exist`, {
        hint: 'the path is relative to the profile that names it',
      });
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
  return errors;
}
