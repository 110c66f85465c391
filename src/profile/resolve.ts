import { BootforgeError, type SourceLoc } from '../errors/index.js';
import type { QuirkReport } from '../hardware/apply.js';
import type { MatchRule } from '../hardware/schema.js';
import type { HostFile } from '../schema/host-files.js';
import { displayPath } from '../schema/issues.js';
import { nodeAt, userRecord, type LNode } from '../yaml/located.js';
import { formatLoc } from '../yaml/merge.js';
import type { LoadedProfile } from './load.js';
import type { FileSpec, ProfileData } from './schema.js';

/** Where a value of the resolved profile came from: a file position, or bootforge's default. */
export type Origin = string;

export interface HardwarePlan {
  /** fixed: the descriptions are merged at build time; auto: the installer picks by DMI among `ids`. */
  readonly mode: 'fixed' | 'auto';
  readonly ids: readonly string[];
  readonly quirks: readonly QuirkReport[];
  /** Each description's DMI match rules, for detection at install time (auto mode). */
  readonly match?: readonly { readonly id: string; readonly rules: readonly MatchRule[]; readonly generic?: boolean }[];
}

/** Profile data after hardware quirks (fixed mode) are merged in: what later stages read. */
export interface ResolvedData extends Omit<ProfileData, 'system' | 'kernel' | 'hardware'> {
  readonly system: ProfileData['system'] & { readonly hostname: string };
  readonly kernel: ProfileData['kernel'] & {
    /** Modules loaded at boot (/etc/modules-load.d). */
    readonly load: readonly string[];
    readonly modprobe: readonly { readonly module: string; readonly options: string }[];
  };
  readonly firmware: readonly { readonly package: string; readonly files: readonly string[] }[];
}

export interface ResolvedProfile {
  readonly name: string;
  readonly path: string;
  readonly files: readonly string[];
  readonly data: ResolvedData;
  readonly hardware: HardwarePlan;
  /** For every leaf of `data` (as "kernel.params[0]"), where it was set. */
  readonly origins: Readonly<Record<string, Origin>>;
  /** For values a hardware quirk contributed, why. */
  readonly why: Readonly<Record<string, string>>;
  /** The host files `data` names (files[].source, users[].hashedPasswordFile), checked, by data path. */
  readonly sources: ReadonlyMap<string, HostFile>;
}

function paramKey(param: string): string {
  return param.split('=')[0] ?? param;
}

function defaultHostname(name: string): string {
  return (
    name
      .replace(/[^A-Za-z0-9-]/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 63) || 'bootforge'
  );
}

/** Collects the origin of every leaf of a plain value from the located tree it came from. */
function collectOrigins(value: unknown, tree: LNode, path: PropertyKey[], out: Record<string, Origin>): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => collectOrigins(v, tree, [...path, i], out));
    if (value.length === 0) out[displayPath(path)] = originOf(tree, path);
    return;
  }
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) collectOrigins(v, tree, [...path, k], out);
    return;
  }
  out[displayPath(path)] = originOf(tree, path);
}

function originOf(tree: LNode, path: readonly PropertyKey[]): Origin {
  const found = nodeAt(tree, path);
  return found.node ? formatLoc(found.node.loc) : 'default';
}

export function resolveProfile(profile: LoadedProfile, hardware: HardwarePlan): ResolvedProfile {
  const d = profile.data;
  const params = [...d.kernel.params];
  const modules = [...d.kernel.modules];
  const blacklist = [...d.kernel.blacklist];
  const load: string[] = [];
  const modprobe: { module: string; options: string }[] = [];
  const firmware: { package: string; files: string[] }[] = [];
  const install = [...d.packages.install];
  const files: FileSpec[] = [...d.files];
  const sources = new Map(profile.sources);
  const origins = userRecord<Origin>();
  const why = userRecord<string>();
  const extraOrigins: [string, SourceLoc, string | undefined][] = [];
  const paramOwner = new Map<string, QuirkReport | 'profile'>(params.map((p) => [paramKey(p), 'profile']));
  const quirks: QuirkReport[] = [];

  const add = <T>(list: T[], listPath: string, item: T, q: QuirkReport, same: (a: T) => boolean): void => {
    if (list.some(same)) return;
    list.push(item);
    extraOrigins.push([`${listPath}[${list.length - 1}]`, q.loc, q.why]);
  };

  for (const q of hardware.quirks) {
    // With detection at install time, only what every candidate needs at build time is merged:
    // its initrd modules and firmware (the image must boot and install any of them). The rest
    // is applied per machine by the installer.
    const buildTime = q.kind === 'initrdModules' || q.kind === 'firmware';
    if ((hardware.mode === 'auto' && !buildTime) || q.status === 'skipped') {
      quirks.push(q);
      continue;
    }
    const data = q.data as Record<string, unknown>;
    switch (q.kind) {
      case 'params': {
        const owner = paramOwner.get(paramKey(q.value));
        if (owner === 'profile' && !params.includes(q.value)) {
          quirks.push({ ...q, status: 'skipped', reason: `the profile sets ${paramKey(q.value)} itself` });
          continue;
        }
        if (owner !== undefined && owner !== 'profile' && owner.value !== q.value) {
          throw new BootforgeError(
            'BF_MERGE_CONFLICT',
            `kernel parameter ${paramKey(q.value)} is ${q.value} here and ${owner.value} in ${owner.hardware} at ${formatLoc(owner.loc)}`,
            { loc: q.loc, related: owner.loc, hint: 'set the parameter in the profile to decide between them' },
          );
        }
        paramOwner.set(paramKey(q.value), q);
        add(params, 'kernel.params', q.value, q, (p) => p === q.value);
        break;
      }
      case 'initrdModules':
        add(modules, 'kernel.modules', q.value, q, (m) => m === q.value);
        break;
      case 'blacklist':
        add(blacklist, 'kernel.blacklist', q.value, q, (m) => m === q.value);
        break;
      case 'modules':
        add(load, 'kernel.load', q.value, q, (m) => m === q.value);
        break;
      case 'modprobe': {
        const entry = { module: String(data.module), options: String(data.options) };
        add(modprobe, 'kernel.modprobe', entry, q, (m) => m.module === entry.module && m.options === entry.options);
        break;
      }
      case 'firmware': {
        const entry = { package: String(data.package), files: [...(data.files as string[])] };
        add(
          firmware,
          'firmware',
          entry,
          q,
          (f) => f.package === entry.package && f.files.join() === entry.files.join(),
        );
        break;
      }
      case 'packages':
        add(install, 'packages.install', q.value, q, (p) => p === q.value);
        break;
      case 'files': {
        const existing = files.findIndex((f) => f.path === q.value);
        if (existing >= 0) {
          const other = nodeAt(profile.tree, ['files', existing]);
          throw new BootforgeError(
            'BF_MERGE_CONFLICT',
            `${q.value} is written by hardware ${q.hardware} here and by the profile at ${formatLoc((other.node ?? other.nearest).loc)}`,
            {
              loc: q.loc,
              related: (other.node ?? other.nearest).loc,
            },
          );
        }
        const { why: _w, kernel: _k, ...file } = data as FileSpec & { why?: string; kernel?: string };
        files.push(file);
        if (q.source !== undefined) sources.set(`files[${files.length - 1}].source`, q.source);
        extraOrigins.push([`files[${files.length - 1}]`, q.loc, q.why]);
        break;
      }
    }
    quirks.push(q);
  }

  const { hardware: _selection, ...rest } = d;
  const data: ResolvedData = {
    ...rest,
    system: { ...d.system, hostname: d.system.hostname ?? defaultHostname(d.name) },
    kernel: { ...d.kernel, params, modules, blacklist, load, modprobe },
    firmware,
    packages: { ...d.packages, install },
    files,
  };
  collectOrigins(data, profile.tree, [], origins);
  for (const [path, loc, reason] of extraOrigins) {
    for (const key of Object.keys(origins)) {
      if (key === path || key.startsWith(`${path}.`) || key.startsWith(`${path}[`)) origins[key] = formatLoc(loc);
    }
    if (reason !== undefined) why[path] = reason;
  }
  if (d.system.hostname === undefined)
    origins['system.hostname'] = `default (from name at ${originOf(profile.tree, ['name'])})`;
  return {
    name: d.name,
    path: profile.path,
    files: profile.files,
    data,
    hardware: { ...hardware, quirks },
    origins,
    why,
    sources,
  };
}
