import { BootforgeError } from '../errors/index.js';
import type { ResolvedProfile } from '../profile/resolve.js';
import { readHostFile } from '../schema/host-files.js';

/** What one hardware description changes in an installed system, for detection at install time. */
export interface HardwareVariant {
  readonly id: string;
  readonly params: readonly string[];
  readonly load: readonly string[];
  readonly blacklist: readonly string[];
  readonly modprobe: readonly { readonly module: string; readonly options: string }[];
  /** Files under /etc, with their content and mode. */
  readonly files: readonly { readonly path: string; readonly content: string; readonly mode: string }[];
}

/** Where a generation keeps each candidate description's configuration (auto mode). */
export const HARDWARE_DIR = '/usr/lib/bootforge/hardware';

/**
 * With `hardware: auto`, the image carries every candidate's quirks and the
 * installer picks by DMI: one variant per description, from its quirks that
 * apply to this kernel (gated-out ones are left out). Kernel parameters go into
 * the boot entry the installer writes; the rest is /etc content that the
 * activation copies in for the detected description. Firmware, packages and
 * initrd modules are the union of all candidates, so they are not here.
 */
export function hardwareVariants(profile: ResolvedProfile): HardwareVariant[] {
  if (profile.hardware.mode !== 'auto') return [];
  return profile.hardware.ids.map((id) => {
    const quirks = profile.hardware.quirks.filter((q) => q.hardware === id && q.status !== 'skipped');
    const values = (kind: string) => quirks.filter((q) => q.kind === kind).map((q) => q.value);
    return {
      id,
      params: values('params'),
      load: values('modules'),
      blacklist: values('blacklist'),
      modprobe: quirks
        .filter((q) => q.kind === 'modprobe')
        .map((q) => {
          const d = q.data as { module: string; options: string };
          return { module: d.module, options: d.options };
        }),
      files: quirks
        .filter((q) => q.kind === 'files')
        .map((q) => {
          const d = q.data as { path: string; content?: string; source?: string; mode?: string };
          if (!d.path.startsWith('/etc/')) {
            throw new BootforgeError(
              'BF_INVALID_VALUE',
              `hardware ${id} writes ${d.path}: with hardware detection at install time, hardware files must be under /etc`,
              {
                loc: q.loc,
                hint: 'the generation outside /etc is read-only and shared by every model the image installs',
              },
            );
          }
          const content = q.source !== undefined ? readHostFile(q.source).toString('utf8') : (d.content ?? '');
          return { path: d.path, content, mode: d.mode ?? '0644' };
        }),
    };
  });
}
