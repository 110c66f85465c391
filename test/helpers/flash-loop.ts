/**
 * Loop devices for flash tests (root only): each over its own sparse backing file,
 * shown as removable USB sticks through a fake sysfs found by their real device
 * numbers, detached again by `cleanup`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { devOf, flashMachine } from './flash-sysfs.js';

const MIB = 1024 * 1024;

/**
 * The SHA-256 of each device or file now; the returned function gives them again, to compare after
 * a refusal. A device is read through its block device (what a later reader sees, page cache
 * included), its backing file as stored: a refused flash must change neither.
 */
export function contentDigests(...paths: string[]): () => string[] {
  const digests = () => paths.map((p) => createHash('sha256').update(readFileSync(p)).digest('hex'));
  const before = digests();
  return () => {
    const after = digests();
    return after.map((d, i) => (d === before[i] ? 'unchanged' : `${paths[i] ?? '?'} changed`));
  };
}

export interface LoopDevice {
  readonly dev: string;
  readonly backing: string;
}

export interface LoopLab {
  /** A loop device over a new sparse backing file of `size` bytes; `partscan` adds losetup -P. */
  loop: (name: string, size?: number, partscan?: boolean) => LoopDevice;
  /** A loop device over an existing file (the image itself, say). */
  attach: (file: string) => LoopDevice;
  /** A new sparse backing file, not attached. */
  backing: (name: string, size?: number) => string;
  /** A fake sysfs (its root) where each device is a removable SanDisk USB stick. */
  usbSticks: (name: string, devs: readonly string[]) => string;
  cleanup: () => void;
}

export function loopLab(tmp: string): LoopLab {
  const loops: string[] = [];
  const backing = (name: string, size = 96 * MIB): string => {
    const file = join(tmp, `${name}.backing`);
    writeFileSync(file, '');
    truncateSync(file, size);
    return file;
  };
  const attach = (file: string, partscan = false): LoopDevice => {
    const args = [...(partscan ? ['-P'] : []), '-f', '--show', file];
    const dev = execFileSync('losetup', args, { encoding: 'utf8' }).trim();
    loops.push(dev);
    return { dev, backing: file };
  };
  return {
    backing,
    attach: (file) => attach(file),
    loop: (name, size = 96 * MIB, partscan = false) => attach(backing(name, size), partscan),
    usbSticks(name, devs) {
      const machine = flashMachine(
        join(tmp, name),
        devs.map((d, i) => ({
          name: basename(d),
          dev: devOf(d),
          bus: 'usb' as const,
          size: statSync(d).size || 96 * MIB,
          removable: true,
          vendor: 'SanDisk',
          model: 'Ultra Fit',
          usbSerial: `4C53000${i}`,
        })),
      );
      return machine.sysfs;
    },
    cleanup() {
      for (const l of loops) {
        // The kernel keeps a loop device's read-only flag after detaching: the next user of it could not write.
        spawnSync('blockdev', ['--setrw', l]);
        spawnSync('losetup', ['-d', l]);
      }
    },
  };
}

/** sfdisk --dump with the device's own name taken out, so two devices compare. */
export function sfdiskDump(target: string): string {
  const out = execFileSync('sfdisk', ['--dump', target], { encoding: 'utf8' });
  // A loop device's partitions are loopNp1, a file's file1.
  return out.replaceAll(target, '<dev>').replace(/^<dev>p?(\d+) :/gm, '<dev>$1 :');
}

/** Runs `body` with `env` added to process.env, restoring it after. */
export async function withEnv<T>(env: Record<string, string>, body: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await body();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
