import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BUNDLED_HARDWARE_DIR,
  loadCatalog,
  loadHardwareFile,
  type HardwareDescription,
} from '../../../src/hardware/catalog.js';
import {
  autoPick,
  detect,
  draftDescription,
  draftId,
  firmwarePackage,
  meaningfulVersion,
  type DetectedMatch,
} from '../../../src/hardware/detect.js';
import { matchAll } from '../../../src/hardware/match.js';
import { HardwareSchema } from '../../../src/hardware/schema.js';
import { isKeyboard, openSysfs, readSysfs, type DeviceFinding } from '../../../src/hardware/sysfs.js';
import { parseLocated } from '../../../src/yaml/located.js';
import { thrown } from '../../helpers/errors.js';

const FIXTURES = 'test/fixtures/sysfs';
const catalog = loadCatalog([BUNDLED_HARDWARE_DIR]);
const work = mkdtempSync(join(tmpdir(), 'bootforge-detect-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function description(id: string, match: unknown[], generic = false): HardwareDescription {
  const data = HardwareSchema.parse({ id, description: id, match, generic });
  return { id, file: `${id}.yaml`, tree: parseLocated('{}', `${id}.yaml`).root, data, sources: new Map() };
}

const driversOf = (d: DeviceFinding | undefined) =>
  d?.drivers.map((b) => `${b.device} ${b.driver} ${b.module ?? '-'} ${b.origin}`);

/** A tiny sysfs tree: files and (relative) symlinks, given as path -> content or { link: target }. */
function tree(name: string, entries: Record<string, string | { link: string }>): string {
  const root = join(work, name);
  for (const [path, v] of Object.entries(entries)) {
    const at = join(root, path);
    mkdirSync(dirname(at), { recursive: true });
    if (typeof v === 'string') writeFileSync(at, v);
    else symlinkSync(relative(dirname(at), join(root, v.link)), at);
  }
  return root;
}

describe('reading sysfs', () => {
  it('follows each disk up its device chain and names the module of every driver', () => {
    const r = readSysfs(`${FIXTURES}/qemu-q35`);
    expect(r.dmi.fields).toEqual({
      sys_vendor: 'QEMU',
      product_name: 'Standard PC (Q35 + ICH9, 2009)',
      product_version: 'pc-q35-7.2',
    });
    expect(r.dmi.serial).toEqual({ status: 'absent' });
    // Partitions (sda1, sda2) are covered by their disk.
    expect(r.devices.filter((d) => d.kind === 'disk').map((d) => d.name)).toEqual(['sda', 'vda']);
    expect(driversOf(r.devices.find((d) => d.name === 'sda'))).toEqual([
      '0:0:0:0 sd sd_mod module',
      '1-1:1.0 usb-storage usb_storage module',
      '1-1 usb usbcore module',
      'usb1 usb usbcore module',
      '0000:00:02.0 xhci_hcd xhci_pci module',
    ]);
    expect(driversOf(r.devices.find((d) => d.name === 'vda'))).toEqual([
      'virtio1 virtio_blk virtio_blk module',
      '0000:00:03.0 virtio-pci virtio_pci module',
    ]);
  });

  it('finds storage and USB controllers by PCI class, and nothing else', () => {
    const r = readSysfs(`${FIXTURES}/unknown-laptop`);
    const controllers = r.devices.filter((d) => d.kind.endsWith('controller')).map((d) => `${d.name} ${d.label}`);
    expect(controllers).toEqual([
      '0000:00:0e.0 RAID controller',
      '10000:e1:00.0 NVMe controller',
      '0000:00:0d.0 xHCI USB controller',
      '0000:00:0d.2 USB4 host interface',
      '0000:00:14.0 xHCI USB controller',
    ]);
    expect(driversOf(r.devices.find((d) => d.name === 'nvme0n1'))).toEqual([
      '10000:e1:00.0 nvme nvme module',
      '10000:e0:06.0 pcieport - builtin',
      '0000:00:0e.0 vmd vmd module',
    ]);
  });

  it('recognises keyboards as udev does, not mice, touchpads or hotkeys', () => {
    expect(isKeyboard('402000000 3803078f800d001 feffffdfffefffff fffffffffffffffe')).toBe(true);
    expect(isKeyboard('10000000000000 0')).toBe(false); // power button
    expect(isKeyboard('1f0000 0 0 0 0')).toBe(false); // PS/2 mouse
    expect(isKeyboard('')).toBe(false);
    const r = readSysfs(`${FIXTURES}/unknown-laptop`);
    expect(r.devices.filter((d) => d.kind === 'keyboard').map((d) => d.label)).toEqual([
      'keyboard "AT Translated Set 2 keyboard"',
      'keyboard "Logitech USB Keyboard"',
    ]);
  });

  it('tells built-in drivers from modules: no module link, or a module folder without initstate', () => {
    const r = readSysfs(`${FIXTURES}/thinkpad-x1-carbon-gen11`);
    expect(driversOf(r.devices.find((d) => d.kind === 'keyboard'))).toEqual([
      'serio0 atkbd atkbd builtin',
      'i8042 i8042 - builtin',
    ]);
    expect(r.dmi.serial).toEqual({ status: 'readable', value: 'PF0EXMPL' });
  });

  it('says so when a snapshot does not show where a driver lives, and trusts module links without module/', () => {
    const root = tree('partial', {
      'class/dmi/id/sys_vendor': 'Acme\n',
      'class/block/sda': { link: 'devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda' },
      'devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/removable': '0\n',
      'devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/driver': { link: 'bus/scsi/drivers/sd' },
      'bus/scsi/drivers/sd/module': { link: 'module/sd_mod' },
      'devices/pci0000:00/0000:00:17.0/driver': { link: 'bus/pci/drivers/ahci' },
      'class/block/loop0': { link: 'devices/virtual/block/loop0' },
      'devices/virtual/block/loop0/removable': '0\n',
    });
    const r = readSysfs(root);
    expect(r.devices.map((d) => d.name)).toEqual(['sda']); // loop devices are virtual
    expect(driversOf(r.devices[0])).toEqual(['0:0:0:0 sd sd_mod module', '0000:00:17.0 ahci - unknown']);
    const d = detect(r, []);
    expect(d.unknownModules).toEqual(['ahci']);
    expect(d.draft && 'skipped' in d.draft ? d.draft.skipped : undefined).toMatch(/no sys_vendor or product_name/);
  });

  it('takes a snapshot folder with its leading sys/, and refuses what is not sysfs', () => {
    const root = tree('snap', {
      'sys/class/dmi/id/sys_vendor': 'Acme\n',
      'firmware.list': '# x\n/lib/firmware/a.bin\n',
    });
    expect(openSysfs(root)).toBe(join(root, 'sys'));
    expect(readSysfs(root).firmwareList).toEqual(['a.bin']);
    for (const [dir, message] of [
      [join(work, 'nothing-here'), /no such folder$/],
      [join(root, 'firmware.list'), /not a folder$/],
      [join(root, 'sys', 'class'), /does not look like sysfs/],
    ] as const) {
      const e = thrown(() => openSysfs(dir));
      expect(e.code).toBe('BF_SYSFS');
      expect(e.message).toMatch(message);
    }
  });
});

describe('detect', () => {
  it('recognises the QEMU VM, and finds every module it uses listed by its description', () => {
    const r = detect(readSysfs(`${FIXTURES}/qemu-q35`), catalog);
    expect(r.matches.map((m) => [m.id, m.score, m.rule])).toEqual([['qemu-x86_64', 2, 0]]);
    expect(r.auto).toEqual({ status: 'match', id: 'qemu-x86_64', score: 2 });
    expect(r.initrdModules.map((m) => m.name)).toEqual([
      'sd_mod',
      'usb_storage',
      'xhci_pci',
      'virtio_blk',
      'virtio_pci',
      'ahci',
    ]);
    expect(r.builtin).toEqual(['atkbd', 'i8042']);
    expect(r.dependencies).toEqual(['usbcore']);
    expect(r.notListed).toEqual({ id: 'qemu-x86_64', modules: [] });
    expect(r.draft).toBeNull();
  });

  it('recognises the ThinkPad although its vendor is spelled LENOVO', () => {
    const r = detect(readSysfs(`${FIXTURES}/thinkpad-x1-carbon-gen11`), catalog);
    expect(r.auto).toEqual({ status: 'match', id: 'thinkpad-x1-carbon-gen11', score: 2 });
    expect(r.matches[0]?.fields).toEqual({ sys_vendor: 'LENOVO', product_name: ['21HM*', '21HN*'] });
    expect(r.notListed).toEqual({ id: 'thinkpad-x1-carbon-gen11', modules: [] });
  });

  it('falls back to the generic description for an unknown model, and names what it lacks', () => {
    const r = detect(readSysfs(`${FIXTURES}/unknown-laptop`), catalog);
    expect(r.matches).toEqual([]);
    expect(r.auto).toEqual({ status: 'generic', id: 'generic-x86_64' });
    expect(r.notListed).toEqual({ id: 'generic-x86_64', modules: ['vmd', 'thunderbolt'] });
    expect(r.initrdModules).toContainEqual({ name: 'vmd', why: 'driver of 0000:00:0e.0 (nvme0n1, RAID controller)' });
    expect(r.initrdModules).toContainEqual({
      name: 'nvme',
      why: 'driver of 10000:e1:00.0 (nvme0n1, NVMe controller)',
    });
    expect(r.firmware).toContainEqual({ file: 'regulatory.db', package: null });
  });

  it('drafts a description that the real loader accepts and that matches the machine it came from', () => {
    const reading = readSysfs(`${FIXTURES}/unknown-laptop`);
    const r = detect(reading, catalog);
    if (r.draft === null || 'skipped' in r.draft) throw new Error('no draft');
    expect(r.draft.id).toBe('asustek-zenbook-ux3402za');
    const file = join(work, `${r.draft.id}.yaml`);
    writeFileSync(file, r.draft.yaml);
    const d = loadHardwareFile(file);
    expect(d.data.match).toEqual([
      { sys_vendor: 'ASUSTeK COMPUTER INC.', product_name: 'Zenbook UX3402ZA_UX3402ZA' }, // version "1.0" says nothing
    ]);
    expect(d.data.initrdModules.map((m) => (typeof m === 'string' ? m : m.name))).toEqual([
      'nvme',
      'vmd',
      'xhci_pci',
      'thunderbolt',
      'hid_generic',
      'usbhid',
    ]);
    expect(d.data.firmware.map((f) => [f.package, f.files])).toEqual([
      ['firmware-misc-nonfree', ['i915/adlp_dmc_ver2_16.bin', 'i915/adlp_guc_70.bin', 'i915/tgl_huc.bin']],
      ['firmware-iwlwifi', ['intel/ibt-0040-0041.sfi', 'iwlwifi-so-a0-gf-a0-72.ucode']],
    ]);
    expect(r.draft.yaml).toMatch(/^# DRAFT written by `bootforge hardware detect`/m);
    expect(r.draft.yaml).toMatch(/^# Built into this kernel \(nothing to load\): pcieport, atkbd, i8042\.$/m);
    expect(r.draft.yaml).toMatch(/^ {2}# From firmware\.list, package unknown: regulatory\.db: research\.$/m);
    expect(matchAll([d], { ...reading.dmi.fields }).map((m) => [m.description.id, m.score])).toEqual([
      ['asustek-zenbook-ux3402za', 2],
    ]);
  });

  it('drafts from a Lenovo machine type with the model name, and matches product_version too', () => {
    const r = detect(readSysfs(`${FIXTURES}/thinkpad-x1-carbon-gen11`), []);
    if (r.draft === null || 'skipped' in r.draft) throw new Error('no draft');
    const file = join(work, `${r.draft.id}.yaml`);
    writeFileSync(file, r.draft.yaml);
    const d = loadHardwareFile(file);
    expect(d.id).toBe('lenovo-thinkpad-x1-carbon-gen-11');
    expect(d.data.description).toBe('LENOVO ThinkPad X1 Carbon Gen 11 (21HMCTO1WW)');
    expect(d.data.match).toEqual([
      { sys_vendor: 'LENOVO', product_name: '21HMCTO1WW', product_version: 'ThinkPad X1 Carbon Gen 11' },
    ]);
    expect(d.data.firmware).toEqual([]);
    expect(r.draft.yaml).toMatch(/sysfs does not show which firmware files the drivers loaded/);
    expect(r.auto).toEqual({ status: 'none' });
  });
});

describe('what hardware: auto picks', () => {
  const m = (id: string, score: number): DetectedMatch => ({ id, file: `${id}.yaml`, score, rule: 0, fields: {} });
  const generic = description('generic', [], true);

  it('takes the most specific match, and reports a tie instead of choosing', () => {
    expect(autoPick([m('a', 3), m('b', 2)], [generic])).toEqual({ status: 'match', id: 'a', score: 3 });
    expect(autoPick([m('a', 2), m('b', 2), m('c', 1)], [generic])).toEqual({
      status: 'tie',
      ids: ['a', 'b'],
      score: 2,
    });
  });

  it('falls back to a generic description, or to nothing', () => {
    expect(autoPick([], [description('acme-x', [{ sys_vendor: 'X' }]), generic])).toEqual({
      status: 'generic',
      id: 'generic',
    });
    expect(autoPick([], [])).toEqual({ status: 'none' });
  });
});

describe('draft ids and fields', () => {
  it.each([
    [
      { sys_vendor: 'LENOVO', product_name: '21HMCTO1WW', product_version: 'ThinkPad X1 Carbon Gen 11' },
      'lenovo-thinkpad-x1-carbon-gen-11',
    ],
    [
      { sys_vendor: 'ASUSTeK COMPUTER INC.', product_name: 'Zenbook UX3402ZA_UX3402ZA', product_version: '1.0' },
      'asustek-zenbook-ux3402za',
    ],
    [
      { sys_vendor: 'HP', product_name: 'HP EliteBook 840 14 inch G10 Notebook PC' },
      'hp-elitebook-840-14-inch-g10-notebook-pc',
    ],
    [{ sys_vendor: 'Dell Inc.', product_name: 'Latitude 7440' }, 'dell-latitude-7440'],
    [
      { sys_vendor: 'Framework', product_name: 'Laptop 13 (AMD Ryzen 7040Series)', product_version: 'A9' },
      'framework-laptop-13-amd-ryzen-7040series',
    ],
  ])('%j gives %s', (fields, id) => expect(draftId(fields)).toBe(id));

  it('matches on product_version only when it names something', () => {
    expect(meaningfulVersion('ThinkPad T14 Gen 4')).toBe(true);
    for (const v of ['1.0', 'A9', 'pc-q35-7.2', 'To be filled by O.E.M.', 'System Version', 'Not Specified', undefined])
      expect(meaningfulVersion(v), String(v)).toBe(false);
  });

  it('guesses the Debian firmware package from the file name, or says it does not know', () => {
    expect(firmwarePackage('iwlwifi-so-a0-gf-a0-72.ucode')).toBe('firmware-iwlwifi');
    expect(firmwarePackage('intel/sof/sof-adl.ri')).toBe('firmware-sof-signed');
    expect(firmwarePackage('amdgpu/gc_11_0_1_me.bin')).toBe('firmware-amd-graphics');
    expect(firmwarePackage('rtl_nic/rtl8168h-2.fw')).toBe('firmware-realtek');
    expect(firmwarePackage('regulatory.db')).toBeNull();
  });

  it('quotes DMI strings that YAML would read otherwise', () => {
    const base = detect(readSysfs(`${FIXTURES}/qemu-q35`), []);
    const draft = draftDescription({
      ...base,
      dmi: {
        fields: { sys_vendor: 'Acme: "Inc"', product_name: '0123 # not a comment' },
        serial: { status: 'absent' },
      },
    });
    if ('skipped' in draft) throw new Error('no draft');
    const file = join(work, `${draft.id}.yaml`);
    writeFileSync(file, draft.yaml);
    expect(loadHardwareFile(file).data.match).toEqual([
      { sys_vendor: 'Acme: "Inc"', product_name: '0123 # not a comment' },
    ]);
  });
});
