import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { BootforgeError } from '../errors/index.js';
import { displayFile } from '../fsutil/display.js';
import { readInputText } from '../fsutil/read-input.js';
import { writeFileAtomic } from './cache.js';
import type { SuiteState } from './repository.js';
import type { ResolvedPackage } from './resolve.js';

export const LOCK_VERSION = 1;

/** What a closure is made from; the lock records it so a changed profile is noticed. */
export interface ClosureInputs {
  readonly requests: readonly string[];
  readonly essential: boolean;
  readonly priorities: readonly string[];
}

export interface LockInputs {
  readonly architecture: string;
  readonly suites: readonly string[];
  readonly components: readonly string[];
  readonly closures: Readonly<Record<string, ClosureInputs>>;
}

export interface LockedPackage {
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  readonly suite: string;
  readonly component: string;
  readonly filename: string;
  readonly size: number;
  readonly installedSize?: number;
  readonly sha256: string;
  readonly reason: string;
}

/**
 * <profile>.lock.json: every package of every closure with its exact version
 * and SHA-256, and the Release dates it was resolved against. The mirror is not
 * part of it: the same lock fetches the same bytes from any mirror.
 */
export interface LockFile {
  readonly lockVersion: typeof LOCK_VERSION;
  readonly inputs: LockInputs;
  readonly inputsSha256: string;
  readonly suites: readonly {
    readonly suite: string;
    readonly date: string;
    readonly validUntil?: string;
    readonly inReleaseSha256: string;
    readonly signer?: string;
  }[];
  /** Newest Release date, as seconds: the build's SOURCE_DATE_EPOCH unless one is set. */
  readonly sourceDateEpoch: number;
  readonly closures: Readonly<Record<string, { readonly packages: readonly LockedPackage[] }>>;
}

/** Canonical JSON (sorted keys) so the same inputs always hash the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function inputsSha256(inputs: LockInputs): string {
  return createHash('sha256').update(canonical(inputs)).digest('hex');
}

export function makeLock(
  inputs: LockInputs,
  suites: readonly SuiteState[],
  closures: Readonly<Record<string, readonly ResolvedPackage[]>>,
): LockFile {
  const lockedClosures: Record<string, { packages: LockedPackage[] }> = {};
  for (const name of Object.keys(closures).sort()) {
    lockedClosures[name] = {
      packages: (closures[name] ?? []).map(({ record: r, reason }) => ({
        name: r.name,
        version: r.version,
        architecture: r.architecture,
        suite: r.suite,
        component: r.component,
        filename: r.filename,
        size: r.size,
        ...(r.installedSize !== undefined ? { installedSize: r.installedSize } : {}),
        sha256: r.sha256,
        reason,
      })),
    };
  }
  const newest = Math.max(...suites.map((s) => s.release.date.getTime()));
  return {
    lockVersion: LOCK_VERSION,
    inputs,
    inputsSha256: inputsSha256(inputs),
    suites: suites.map((s) => ({
      suite: s.suite,
      date: s.release.date.toISOString(),
      ...(s.release.validUntil ? { validUntil: s.release.validUntil.toISOString() } : {}),
      inReleaseSha256: s.inReleaseSha256,
      ...(s.release.signer ? { signer: s.release.signer } : {}),
    })),
    sourceDateEpoch: Math.floor(newest / 1000),
    closures: lockedClosures,
  };
}

export function lockPathFor(profilePath: string): string {
  return profilePath.replace(/\.ya?ml$/, '') + '.lock.json';
}

export function writeLock(path: string, lock: LockFile): void {
  writeFileAtomic(path, `${JSON.stringify(lock, null, 2)}\n`);
}

export function readLock(path: string): LockFile | undefined {
  // No lock yet is normal; anything else there (too large, a FIFO) is an error.
  if (!existsSync(path)) return undefined;
  const text = readInputText(path, { kind: 'lock' });
  let lock: LockFile;
  try {
    lock = JSON.parse(text) as LockFile;
  } catch (cause) {
    throw new BootforgeError('BF_LOCK_STALE', `${displayFile(path)} is not valid JSON`, {
      cause,
      hint: 'run bootforge lock again',
    });
  }
  const version: unknown = lock.lockVersion;
  if (version !== LOCK_VERSION) {
    throw new BootforgeError(
      'BF_LOCK_STALE',
      `${displayFile(path)} has lock version ${JSON.stringify(version)}, this bootforge writes ${LOCK_VERSION}`,
      {
        hint: 'run bootforge lock again',
      },
    );
  }
  return lock;
}

/** Refuses a lock made from other inputs, saying what changed. */
export function checkLockMatches(path: string, lock: LockFile, inputs: LockInputs): void {
  if (lock.inputsSha256 === inputsSha256(inputs) && inputsSha256(lock.inputs) === lock.inputsSha256) return;
  const changes: string[] = [];
  for (const [name, closure] of Object.entries(inputs.closures)) {
    const before = lock.inputs.closures[name]?.requests ?? [];
    const added = closure.requests.filter((r) => !before.includes(r));
    const removed = before.filter((r) => !closure.requests.includes(r));
    if (added.length) changes.push(`${name}: added ${added.join(', ')}`);
    if (removed.length) changes.push(`${name}: removed ${removed.join(', ')}`);
  }
  for (const key of ['architecture', 'suites', 'components'] as const) {
    if (canonical(inputs[key]) !== canonical(lock.inputs[key])) changes.push(`${key} changed`);
  }
  throw new BootforgeError(
    'BF_LOCK_STALE',
    `${displayFile(path)} no longer matches the profile (${changes.join('; ') || 'closure settings changed'})`,
    {
      hint: `run bootforge lock to update it, and review the package changes it reports`,
    },
  );
}
