import type { Command } from 'commander';
import { displayFile } from '../../fsutil/display.js';
import { BootforgeError } from '../../errors/index.js';
import { currentLock, lockPathFor, lockProfile, openPackageSource, repoSettingsOf } from '../../pipeline/packages.js';
import { resolve } from '../../pipeline/resolve.js';
import type { LockFile } from '../../packages/lock.js';
import { formatSize } from '../../schema/size.js';
import {
  resolveOptionsOf,
  HARDWARE_DIR_OPTION,
  SOURCE_ROOT_OPTION,
  HARDWARE_OPTION,
  type CliContext,
  type HardwareCliOptions,
} from '../context.js';
import { reporterFor } from '../reporter.js';
import { addSourceOptions, sourceFlags, type SourceCliOptions } from '../source-options.js';

/** Package changes between two locks, per closure: "+name 1.0", "-name 1.0", "name 1.0 -> 1.1". */
export function lockChanges(before: LockFile | undefined, after: LockFile): string[] {
  const out: string[] = [];
  for (const [closure, { packages }] of Object.entries(after.closures)) {
    const old = new Map((before?.closures[closure]?.packages ?? []).map((p) => [p.name, p.version]));
    const now = new Map(packages.map((p) => [p.name, p.version]));
    for (const [name, version] of now) {
      const was = old.get(name);
      if (was === undefined) out.push(`${closure}: +${name} ${version}`);
      else if (was !== version) out.push(`${closure}: ${name} ${was} -> ${version}`);
    }
    for (const [name, version] of old) if (!now.has(name)) out.push(`${closure}: -${name} ${version}`);
  }
  return out;
}

export function registerLock(program: Command, ctx: CliContext): void {
  addSourceOptions(
    program
      .command('lock')
      .description('resolve every package the build of a profile needs and write <profile>.lock.json')
      .argument('<profile>', 'profile YAML file')
      .option(...HARDWARE_OPTION)
      .option(...HARDWARE_DIR_OPTION)
      .option(...SOURCE_ROOT_OPTION)
      .option('--check', 'only check that the lock exists and matches the profile (for CI); reads no mirror'),
  ).action(async (profilePath: string, o: SourceCliOptions & HardwareCliOptions & { check?: boolean }) => {
    const { resolved } = resolve(resolveOptionsOf(profilePath, o));
    if (o.check) {
      const lock = currentLock(resolved);
      if (!lock) {
        throw new BootforgeError('BF_LOCK_STALE', `${displayFile(lockPathFor(resolved.path))} does not exist`, {
          hint: `run bootforge lock ${profilePath}`,
        });
      }
      ctx.out(`${displayFile(lockPathFor(resolved.path))} matches the profile`);
      return;
    }
    const reporter = reporterFor(o);
    const source = openPackageSource(repoSettingsOf(resolved), sourceFlags(o), reporter);
    const { path, lock, previous } = await lockProfile(resolved, source);
    reporter.close();
    if (o.json) {
      ctx.out(
        JSON.stringify(
          { path: displayFile(path), inputsSha256: lock.inputsSha256, changes: lockChanges(previous, lock) },
          null,
          2,
        ),
      );
      return;
    }
    for (const [name, { packages }] of Object.entries(lock.closures)) {
      const size = packages.reduce((n, p) => n + p.size, 0);
      ctx.out(`${name}: ${packages.length} packages, ${formatSize(size)}`);
    }
    const changes = lockChanges(previous, lock);
    if (previous) ctx.out(changes.length ? `changes:\n  ${changes.join('\n  ')}` : 'no package changes');
    ctx.out(`wrote ${displayFile(path)}`);
  });
}
