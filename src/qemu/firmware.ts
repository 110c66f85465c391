import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BootforgeError } from '../errors/index.js';

/** A UEFI firmware image pair, as QEMU's firmware descriptors describe it. */
export interface UefiFirmware {
  readonly code: string;
  readonly varsTemplate: string;
  readonly format: string;
  readonly descriptor: string;
  readonly secureBoot: boolean;
}

interface Descriptor {
  'interface-types'?: string[];
  mapping?: {
    device?: string;
    executable?: { filename?: string; format?: string };
    'nvram-template'?: { filename?: string };
  };
  targets?: { architecture?: string; machines?: string[] }[];
  features?: string[];
}

export const FIRMWARE_DESCRIPTOR_DIRS = ['/etc/qemu/firmware', '/usr/share/qemu/firmware'];

/**
 * Finds OVMF through QEMU's firmware descriptors (docs/interop/firmware.json),
 * as libvirt does, instead of a fixed path. Secure Boot builds are skipped by
 * default: bootforge's systemd-boot is not signed.
 */
export function findUefiFirmware(options: { secureBoot?: boolean; dirs?: readonly string[] } = {}): UefiFirmware {
  const dirs = options.dirs ?? FIRMWARE_DESCRIPTOR_DIRS;
  const seen = new Set<string>();
  const candidates: UefiFirmware[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir)
        .filter((n) => n.endsWith('.json'))
        .sort();
    } catch {
      continue;
    }
    for (const name of names) {
      // A file in /etc overrides (or, when empty, disables) the one of the same name in /usr/share.
      if (seen.has(name)) continue;
      seen.add(name);
      let d: Descriptor;
      try {
        d = JSON.parse(readFileSync(join(dir, name), 'utf8')) as Descriptor;
      } catch {
        continue;
      }
      const x86 = (d.targets ?? []).some(
        (t) => t.architecture === 'x86_64' && (t.machines ?? []).some((m) => m.startsWith('pc-q35')),
      );
      const code = d.mapping?.executable?.filename;
      const vars = d.mapping?.['nvram-template']?.filename;
      if (!(d['interface-types'] ?? []).includes('uefi') || !x86 || d.mapping?.device !== 'flash' || !code || !vars)
        continue;
      const features = d.features ?? [];
      candidates.push({
        code,
        varsTemplate: vars,
        format: d.mapping.executable?.format ?? 'raw',
        descriptor: join(dir, name),
        secureBoot: features.includes('secure-boot') || features.includes('enrolled-keys'),
      });
    }
  }
  const wanted = candidates.find((c) => c.secureBoot === (options.secureBoot ?? false));
  if (!wanted) {
    throw new BootforgeError(
      'BF_TOOL_MISSING',
      `no ${options.secureBoot ? 'Secure Boot ' : ''}UEFI firmware for x86_64 found in ${dirs.join(', ')}`,
      {
        hint: 'install OVMF: apt-get install ovmf',
      },
    );
  }
  return wanted;
}
