/**
 * `bootforge hardware detect`: what a machine's sysfs says, which descriptions match it,
 * what `hardware: auto` would pick, and for an unknown model a draft description.
 * Pure logic over a SysfsReading (sysfs.ts reads one).
 */
import { stringify } from 'yaml';
import type { HardwareDescription } from './catalog.js';
import { matchAll, normalizeDmi, type DmiInfo } from './match.js';
import type { MatchRule } from './schema.js';
import type { DeviceFinding, DmiField, SysfsReading } from './sysfs.js';

export interface DetectedMatch {
  readonly id: string;
  readonly file: string;
  /** How many DMI fields of the rule matched. */
  readonly score: number;
  /** Index of the rule that matched in the description's match list. */
  readonly rule: number;
  readonly fields: MatchRule;
}

/** What `hardware: auto` would choose among every description on the search path. */
export type AutoPick =
  | { readonly status: 'match'; readonly id: string; readonly score: number }
  | { readonly status: 'tie'; readonly ids: readonly string[]; readonly score: number }
  | { readonly status: 'generic'; readonly id: string }
  | { readonly status: 'none' };

/** A loadable module the initrd needs on this machine, and the devices it was seen driving. */
export interface ModuleNeed {
  readonly name: string;
  readonly why: string;
}

export interface FirmwareFile {
  readonly file: string;
  /** The Debian package that ships it, guessed from its folder or name; null when unknown. */
  readonly package: string | null;
}

export interface DetectReport {
  readonly sysfs: string;
  readonly dmi: SysfsReading['dmi'];
  readonly matches: readonly DetectedMatch[];
  readonly auto: AutoPick;
  readonly devices: readonly DeviceFinding[];
  /** Loadable modules bound to disks, storage and USB controllers and keyboards, in device order. */
  readonly initrdModules: readonly ModuleNeed[];
  /** Drivers built into this kernel (nothing to load). */
  readonly builtin: readonly string[];
  /** Modules every listed one depends on anyway (usbcore), so not listed. */
  readonly dependencies: readonly string[];
  /** Drivers whose module the snapshot does not show (it lacks their bus/<bus>/drivers/ folder). */
  readonly unknownModules: readonly string[];
  /** Modules this machine uses that the description auto picks does not list; null without a pick. */
  readonly notListed: { readonly id: string; readonly modules: readonly string[] } | null;
  /** Firmware files from the snapshot's firmware.list; null without one (sysfs does not show firmware). */
  readonly firmware: readonly FirmwareFile[] | null;
  /** For an unknown model: a description to review; or why none could be drafted. */
  readonly draft: { readonly id: string; readonly yaml: string } | { readonly skipped: string } | null;
}

/** Drivers' modules that every other driver on their bus depends on: loaded anyway. */
const DEPENDENCY_ONLY = new Set(['usbcore']);

export function autoPick(matches: readonly DetectedMatch[], catalog: readonly HardwareDescription[]): AutoPick {
  const best = matches[0];
  if (best === undefined) {
    const generic = catalog.find((d) => d.data.generic);
    return generic ? { status: 'generic', id: generic.id } : { status: 'none' };
  }
  const top = matches.filter((m) => m.score === best.score);
  if (top.length > 1) return { status: 'tie', ids: top.map((m) => m.id), score: best.score };
  return { status: 'match', id: best.id, score: best.score };
}

/** What a device is, as named in a module's `why`: the disk's name, or the controller's or keyboard's label. */
function seenAs(d: DeviceFinding): string {
  return d.kind === 'disk' ? d.name : d.label;
}

export function moduleNeeds(devices: readonly DeviceFinding[]): {
  modules: ModuleNeed[];
  builtin: string[];
  dependencies: string[];
  unknown: string[];
} {
  // module -> bound device -> what it was seen on
  const uses = new Map<string, Map<string, string[]>>();
  const builtin = new Set<string>();
  const dependencies = new Set<string>();
  const unknown = new Set<string>();
  for (const d of devices) {
    for (const b of d.drivers) {
      if (b.origin === 'builtin') builtin.add(b.driver);
      else if (b.origin === 'unknown') unknown.add(b.driver);
      else if (b.module !== null && DEPENDENCY_ONLY.has(b.module)) dependencies.add(b.module);
      else if (b.module !== null) {
        const byDevice = uses.get(b.module) ?? new Map<string, string[]>();
        uses.set(b.module, byDevice);
        const seen = byDevice.get(b.device) ?? [];
        byDevice.set(b.device, seen);
        if (!seen.includes(seenAs(d))) seen.push(seenAs(d));
      }
    }
  }
  const modules = [...uses].map(([name, byDevice]) => ({
    name,
    why: `driver of ${[...byDevice].map(([device, seen]) => `${device} (${seen.join(', ')})`).join(', ')}`,
  }));
  return { modules, builtin: [...builtin], dependencies: [...dependencies], unknown: [...unknown] };
}

// Where Debian bookworm's non-free-firmware packages put their files (a guess to verify
// with `apt-file search` or packages.debian.org; unknown folders are left to research).
const FIRMWARE_PACKAGES: readonly [RegExp, string][] = [
  [/^iwlwifi-/, 'firmware-iwlwifi'],
  [/^intel\/ibt-/, 'firmware-iwlwifi'],
  [/^intel\/sof/, 'firmware-sof-signed'],
  [/^(i915|nvidia|mediatek)\//, 'firmware-misc-nonfree'],
  [/^(amdgpu|radeon)\//, 'firmware-amd-graphics'],
  [/^(rtl_nic|rtl_bt|rtlwifi|rtw88|rtw89)\//, 'firmware-realtek'],
  [/^(ath9k_htc|ath10k|ath11k|qca)\//, 'firmware-atheros'],
  [/^brcm\//, 'firmware-brcm80211'],
];

export function firmwarePackage(file: string): string | null {
  return FIRMWARE_PACKAGES.find(([re]) => re.test(file))?.[1] ?? null;
}

function listedModules(d: HardwareDescription): RegExp[] {
  return d.data.initrdModules.map((m) => {
    const name = (typeof m === 'string' ? m : m.name).replace(/-/g, '_');
    return new RegExp(
      `^${name
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    );
  });
}

export function detect(reading: SysfsReading, catalog: readonly HardwareDescription[]): DetectReport {
  const dmi: DmiInfo = { ...reading.dmi.fields };
  const matches: DetectedMatch[] = matchAll(catalog, dmi).map((m) => ({
    id: m.description.id,
    file: m.description.file,
    score: m.score,
    rule: m.rule,
    fields: m.description.data.match[m.rule] ?? {},
  }));
  const auto = autoPick(matches, catalog);
  const needs = moduleNeeds(reading.devices);
  const pickedId = auto.status === 'match' || auto.status === 'generic' ? auto.id : undefined;
  const picked = catalog.find((d) => d.id === pickedId);
  let notListed: DetectReport['notListed'] = null;
  if (picked) {
    const listed = listedModules(picked);
    notListed = {
      id: picked.id,
      modules: needs.modules.map((m) => m.name).filter((n) => !listed.some((re) => re.test(n.replace(/-/g, '_')))),
    };
  }
  const firmware = reading.firmwareList?.map((file) => ({ file, package: firmwarePackage(file) })) ?? null;
  const partial = {
    sysfs: reading.root,
    dmi: reading.dmi,
    matches,
    auto,
    devices: reading.devices,
    initrdModules: needs.modules,
    builtin: needs.builtin,
    dependencies: needs.dependencies,
    unknownModules: needs.unknown,
    notListed,
    firmware,
  };
  return { ...partial, draft: matches.length > 0 ? null : draftDescription(partial) };
}

// DMI strings that firmware leaves as placeholders.
const PLACEHOLDER =
  /^(to be filled by o\.?e\.?m\.?|default string|system version|system product name|system manufacturer|not specified|not applicable|none|n\/a|invalid|undefined|unknown|x\.x|0|1\.0|0123456789)$/i;

/** A product_version worth matching on: a name (letters and a space), not a revision such as "1.0" or "A8". */
export function meaningfulVersion(v: string | undefined): v is string {
  if (v === undefined) return false;
  const t = v.trim();
  return !PLACEHOLDER.test(t) && /[a-z]/i.test(t) && /\s/.test(t);
}

function words(s: string): string[] {
  return s
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim()
    .split(' ')
    .filter((w) => w !== '');
}

/** A hardware id from vendor and product: "lenovo-thinkpad-x1-carbon-gen-11", "asustek-zenbook-ux3402za". */
export function draftId(fields: Partial<Record<DmiField, string>>): string | undefined {
  const vendor = words(normalizeDmi('sys_vendor', fields.sys_vendor ?? ''));
  const name = fields.product_name ?? '';
  // Vendors that put a SKU code in product_name (Lenovo: 21HMCTO1WW) name the model in product_version.
  const product = words(
    !/\s/.test(name.trim()) && meaningfulVersion(fields.product_version) ? fields.product_version : name,
  );
  while (product.length > 0 && vendor.length > 0 && product[0] === vendor[0]) product.shift();
  // ASUS repeats the model: "Zenbook UX3402ZA_UX3402ZA".
  const all = [...vendor, ...product].filter((w, i, a) => i === 0 || w !== a[i - 1]);
  const id = all.join('-').slice(0, 64).replace(/-+$/, '');
  return /^[a-z0-9][a-z0-9_-]*[a-z0-9]$/.test(id) ? id : undefined;
}

function scalar(value: string): string {
  return stringify(value, { lineWidth: 0 }).trimEnd();
}

function comment(text: string): string[] {
  return text.split('\n').map((l) => `#${l === '' ? '' : ` ${l}`}`);
}

type DraftInput = Omit<DetectReport, 'draft'>;

/** A description of this machine in bootforge's format, with what to research as comments. */
export function draftDescription(r: DraftInput): { id: string; yaml: string } | { skipped: string } {
  const f = r.dmi.fields;
  if (f.sys_vendor === undefined || f.product_name === undefined)
    return { skipped: 'the firmware sets no sys_vendor or product_name, so there is nothing to match on' };
  const id = draftId(f);
  if (id === undefined) return { skipped: 'no hardware id can be made from sys_vendor and product_name' };
  const sku = !/\s/.test(f.product_name.trim()) && meaningfulVersion(f.product_version);
  const description = sku
    ? `${f.sys_vendor} ${f.product_version} (${f.product_name})`
    : `${f.sys_vendor} ${f.product_name}`;

  const out: string[] = [
    '# yaml-language-server: $schema=../schema/hardware.schema.json',
    '#',
    ...comment(
      [
        `DRAFT written by \`bootforge hardware detect\` from the sysfs of one ${f.sys_vendor} ${f.product_name}.`,
        `Review it, then save it as hardware/${id}.yaml. To research, each with \`why\` and a source link`,
        '(docs/hardware-sources.md lists where the bundled ones come from):',
        '- match: product_name is copied exactly. Where it holds a SKU (Lenovo: machine type + model,',
        '  e.g. 21HMCTO1WW), widen it with a glob (21HM*) and list every machine type of the model;',
        '  compare with the DMI strings of other units and BIOS versions.',
        "- params, modprobe, blacklist, files: the model's known quirks (kernel bug trackers,",
        "  nixos-hardware, the vendor's Linux notes), gated with `kernel:` where upstream fixed them.",
        '- firmware: the Debian packages (non-free-firmware) for its graphics, Wi-Fi, Bluetooth, audio.',
        '- packages: e.g. fwupd when the vendor publishes on LVFS, intel-microcode or amd64-microcode.',
        'initrdModules are the drivers bound on this machine to its disks, storage and USB controllers',
        'and keyboards; devices not attached when sysfs was read (docks, USB sticks) are not covered.',
      ].join('\n'),
    ),
  ];
  if (r.builtin.length > 0) out.push(...comment(`Built into this kernel (nothing to load): ${r.builtin.join(', ')}.`));
  if (r.dependencies.length > 0)
    out.push(...comment(`Not listed, loaded as dependencies of the others: ${r.dependencies.join(', ')}.`));
  if (r.unknownModules.length > 0)
    out.push(
      ...comment(`The snapshot does not show the module of these drivers: ${r.unknownModules.join(', ')}: research.`),
    );
  out.push(...comment('ext4, vfat, nls_cp437 and nls_ascii are not listed: bootforge adds them for every machine.'));

  out.push(`id: ${id}`, `description: ${scalar(description)}`, 'match:', `  - sys_vendor: ${scalar(f.sys_vendor)}`);
  out.push(`    product_name: ${scalar(f.product_name)}`);
  if (meaningfulVersion(f.product_version)) out.push(`    product_version: ${scalar(f.product_version)}`);
  out.push('arch: x86_64', 'bootFirmware: uefi', 'params: []');

  const unbound = r.devices.filter((d) => d.kind !== 'disk' && d.kind !== 'keyboard' && d.drivers.length === 0);
  const unboundNotes = unbound.flatMap((d) =>
    comment(`${d.name} (${d.label}) has no driver bound: research which module it needs.`),
  );
  if (r.initrdModules.length === 0) out.push(...unboundNotes, 'initrdModules: []');
  else {
    out.push('initrdModules:', ...unboundNotes.map((l) => `  ${l}`));
    for (const m of r.initrdModules) out.push(`  - name: ${scalar(m.name)}`, `    why: ${scalar(m.why)}`);
  }
  out.push('modules: []', 'blacklist: []', 'modprobe: []');

  if (r.firmware === null || r.firmware.length === 0) {
    out.push(
      ...comment(
        r.firmware === null
          ? 'sysfs does not show which firmware files the drivers loaded; a snapshot can carry a\nfirmware.list (docs/hardware-sources.md). Research the firmware packages.'
          : 'The firmware.list of the snapshot is empty.',
      ),
      'firmware: []',
    );
  } else {
    const byPackage = new Map<string, string[]>();
    const unknown: string[] = [];
    for (const fw of r.firmware) {
      if (fw.package === null) unknown.push(fw.file);
      else byPackage.set(fw.package, [...(byPackage.get(fw.package) ?? []), fw.file]);
    }
    const unknownNote =
      unknown.length > 0 ? comment(`From firmware.list, package unknown: ${unknown.join(', ')}: research.`) : [];
    if (byPackage.size === 0) out.push(...unknownNote, 'firmware: []');
    else out.push('firmware:', ...unknownNote.map((l) => `  ${l}`));
    for (const [pkg, files] of byPackage) {
      out.push(`  - package: ${pkg}`, '    files:', ...files.map((file) => `      - ${scalar(file)}`));
      out.push(
        `    why: ${scalar('Named in the firmware.list of the sysfs snapshot; the package is guessed from the file name: check it (apt-file search).')}`,
      );
    }
  }
  out.push('packages: []', 'files: []', '');
  return { id, yaml: out.join('\n') };
}
