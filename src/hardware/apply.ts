import type { SourceLoc } from '../errors/index.js';
import type { HostFile } from '../schema/host-files.js';
import { nodeAt } from '../yaml/located.js';
import type { HardwareDescription } from './catalog.js';
import { gateAllows, kernelRelease, parseGate } from './gate.js';

export type QuirkKind =
  'params' | 'initrdModules' | 'modules' | 'blacklist' | 'modprobe' | 'firmware' | 'packages' | 'files';
export const QUIRK_KINDS: readonly QuirkKind[] = [
  'params',
  'initrdModules',
  'modules',
  'blacklist',
  'modprobe',
  'firmware',
  'packages',
  'files',
];

/**
 * One quirk of one description, and whether it applies to the kernel being built:
 * `pending` when the kernel version is not known yet (before the lock resolves it).
 */
export interface QuirkReport {
  readonly hardware: string;
  readonly kind: QuirkKind;
  /** What the quirk contributes: a parameter, a module name, "module options", a package, a path. */
  readonly value: string;
  readonly why?: string;
  readonly gate?: string;
  readonly loc: SourceLoc;
  readonly status: 'applied' | 'skipped' | 'pending';
  readonly reason?: string;
  /** The quirk's full data (for modprobe, firmware and files entries). */
  readonly data: unknown;
  /** A files entry's source, checked when its description was loaded. */
  readonly source?: HostFile;
}

function describe(kind: QuirkKind, item: unknown): string {
  if (typeof item === 'string') return item;
  const o = item as Record<string, unknown>;
  switch (kind) {
    case 'params':
      return String(o.value);
    case 'modprobe':
      return `${String(o.module)} ${String(o.options)}`;
    case 'firmware':
      return `${String(o.package)}: ${(o.files as string[]).join(' ')}`;
    case 'files':
      return String(o.path);
    default:
      return String(o.name);
  }
}

export function quirkReports(descriptions: readonly HardwareDescription[], kernelVersion?: string): QuirkReport[] {
  const release = kernelVersion === undefined ? undefined : kernelRelease(kernelVersion);
  const out: QuirkReport[] = [];
  for (const d of descriptions) {
    for (const kind of QUIRK_KINDS) {
      (d.data[kind] as unknown[]).forEach((item, i) => {
        const meta = typeof item === 'string' ? {} : (item as { why?: string; kernel?: string });
        const found = nodeAt(d.tree, [kind, i]);
        const source = kind === 'files' ? d.sources.get(`files[${i}].source`) : undefined;
        const base = {
          hardware: d.id,
          kind,
          value: describe(kind, item),
          loc: (found.node ?? found.nearest).loc,
          data: item,
          ...(source !== undefined ? { source } : {}),
          ...(meta.why !== undefined ? { why: meta.why } : {}),
          ...(meta.kernel !== undefined ? { gate: meta.kernel } : {}),
        };
        if (meta.kernel === undefined) {
          out.push({ ...base, status: 'applied' });
        } else if (release === undefined) {
          out.push({
            ...base,
            status: 'pending',
            reason: `kernel ${meta.kernel}: the kernel version is known once the packages are locked`,
          });
        } else {
          const ok = gateAllows(parseGate(meta.kernel) ?? [], release);
          out.push({
            ...base,
            status: ok ? 'applied' : 'skipped',
            reason: `kernel ${kernelVersion ?? ''} ${ok ? 'is' : 'is not'} ${meta.kernel}`,
          });
        }
      });
    }
  }
  return out;
}
