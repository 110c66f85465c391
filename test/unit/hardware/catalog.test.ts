import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BootforgeError } from '../../../src/errors/index.js';
import { quirkReports } from '../../../src/hardware/apply.js';
import {
  BUNDLED_HARDWARE_DIR,
  hardwareSearchPath,
  loadCatalog,
  loadHardwareFile,
  pickHardware,
} from '../../../src/hardware/catalog.js';
import { matchAll } from '../../../src/hardware/match.js';

const catalog = loadCatalog([BUNDLED_HARDWARE_DIR]);

describe('bundled hardware descriptions', () => {
  it('include the required models, each valid', () => {
    expect(catalog.map((d) => d.id)).toEqual(
      expect.arrayContaining([
        'qemu-x86_64',
        'framework-13-amd-7040',
        'framework-13-intel-13th',
        'thinkpad-x1-carbon-gen11',
        'dell-xps-13-9320',
        'thinkpad-t14-gen4-intel',
        'dell-latitude-7440',
        'generic-x86_64',
      ]),
    );
  });

  it.each([
    [
      { sys_vendor: 'LENOVO', product_name: '21HDCTO1WW', product_version: 'ThinkPad T14 Gen 4' },
      ['thinkpad-t14-gen4-intel'],
    ],
    [
      { sys_vendor: 'LENOVO', product_name: '21HES0AB00', product_version: 'ThinkPad T14 Gen 4' },
      ['thinkpad-t14-gen4-intel'],
    ],
    // The AMD T14 Gen 4 has the same product_version: another machine.
    [{ sys_vendor: 'LENOVO', product_name: '21K3CTO1WW', product_version: 'ThinkPad T14 Gen 4' }, []],
    [{ sys_vendor: 'Dell Inc.', product_name: 'Latitude 7440', board_name: '0XDRJY' }, ['dell-latitude-7440']],
    [{ sys_vendor: 'Dell Inc.', product_name: 'Latitude 7430' }, []],
  ])('recognise %j as %j', (dmi, ids) => {
    expect(matchAll(catalog, dmi).map((m) => m.description.id)).toEqual(ids);
  });

  it('give every quirk a reason, and every laptop workaround a source link', () => {
    const quirks = quirkReports(catalog);
    expect(quirks.filter((q) => q.why === undefined).map((q) => `${q.hardware} ${q.kind} ${q.value}`)).toEqual([]);
    // Modules and firmware files are facts about the chips; parameters, options, blacklists and files are workarounds.
    const workarounds = quirks.filter(
      (q) => !q.hardware.startsWith('qemu') && ['params', 'modprobe', 'blacklist', 'files'].includes(q.kind),
    );
    expect(workarounds.length).toBeGreaterThan(10);
    const unsourced = workarounds.filter((q) => !/https?:\/\//.test(q.why ?? ''));
    expect(unsourced.map((q) => `${q.hardware} ${q.kind} ${q.value}`)).toEqual([]);
  });

  it('recognise each laptop by DMI, except the generic fallback', () => {
    for (const d of catalog) expect(d.data.generic || d.data.match.length > 0, d.id).toBe(true);
    expect(catalog.filter((d) => d.data.generic).map((d) => d.id)).toEqual(['generic-x86_64']);
  });

  it('search user folders before the bundled one', () => {
    const path = hardwareSearchPath(['/tmp/mine'], { BOOTFORGE_HARDWARE_PATH: '/a:/b' });
    expect(path).toEqual(['/tmp/mine', '/a', '/b', BUNDLED_HARDWARE_DIR.replace(/\/$/, '')]);
  });

  it('suggest the nearest id for a typo', () => {
    expect(() => pickHardware(catalog, [{ id: 'thinkpad-x1-carbon-gen1' }])).toThrow(/no hardware description/);
    try {
      pickHardware(catalog, [{ id: 'thinkpad-x1-carbon-gen1' }]);
    } catch (e) {
      expect((e as { hint: string }).hint).toContain('did you mean "thinkpad-x1-carbon-gen11"?');
    }
  });

  it('gate quirks on the kernel version: pending without one, applied or skipped with one', () => {
    const gated = catalog.flatMap((d) => quirkReports([d])).filter((q) => q.gate !== undefined);
    expect(gated.every((q) => q.status === 'pending')).toBe(true);
    const ids = [...new Set(gated.map((q) => q.hardware))];
    const old = quirkReports(
      pickHardware(
        catalog,
        ids.map((id) => ({ id })),
      ),
      '1.0.0',
    ).filter((q) => q.gate);
    const future = quirkReports(
      pickHardware(
        catalog,
        ids.map((id) => ({ id })),
      ),
      '99.0.0',
    ).filter((q) => q.gate);
    for (const q of [...old, ...future]) expect(['applied', 'skipped']).toContain(q.status);
    expect(old.map((q) => q.status)).not.toEqual(future.map((q) => q.status));
  });
});

describe('hostile hardware descriptions (issue 15)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bf-hw-'));
  writeFileSync(join(dir, 'rules'), 'ACTION=="add"\n');
  const write = (id: string, body: string): string => {
    const file = join(dir, `${id}.yaml`);
    writeFileSync(file, `id: ${id}\ndescription: d\n${body}\n`);
    return file;
  };
  const code = (fn: () => unknown): string | undefined => {
    try {
      fn();
    } catch (e) {
      return (e as BootforgeError).code;
    }
    return undefined;
  };

  it('reads a file source in its own folder, and refuses one outside every allowed folder', () => {
    const ok = loadHardwareFile(write('own', 'files: [{path: /etc/udev/rules.d/x.rules, source: rules}]'));
    expect(ok.sources.get('files[0].source')?.path).toBe(join(dir, 'rules'));
    const leak = write('leak', 'files: [{path: /etc/x, source: /etc/passwd}]');
    expect(code(() => loadHardwareFile(leak))).toBe('BF_SOURCE_OUTSIDE');
    const up = write('up', 'files: [{path: /etc/x, source: ../../../../../etc/passwd}]');
    expect(code(() => loadHardwareFile(up))).toBe('BF_SOURCE_OUTSIDE');
  });

  it('refuses a __proto__ key', () => {
    expect(code(() => loadHardwareFile(write('proto', '__proto__: {generic: true}')))).toBe('BF_YAML_RESERVED_KEY');
  });

  it('refuses a description that is not a regular file', () => {
    execFileSync('mkfifo', [join(dir, 'fifo.yaml')]);
    expect(code(() => loadHardwareFile(join(dir, 'fifo.yaml')))).toBe('BF_INPUT_NOT_FILE');
  });

  it.each([
    ['modprobe: [{module: snd, options: "x=1\\ninstall snd /bin/sh -c reboot"}]', 'modprobe[0].options'],
    ['params: ["a=\\"x\\u001by\\""]', 'params[0]'],
    ['match: [{sys_vendor: "LENOVO\\n"}]', 'match[0].sys_vendor'],
    ['firmware: [{package: firmware-misc-nonfree, files: ["a\\rb"]}]', 'firmware[0].files[0]'],
    ['params: [{value: quiet, why: "see\\nhttps://x"}]', 'params[0].why'],
  ])('refuses a control character in %s', (body, where) => {
    try {
      loadHardwareFile(write(`ctl-${where.replace(/[^a-z0-9]/g, '')}`, body));
      expect.fail('accepted');
    } catch (e) {
      expect((e as BootforgeError).code).toBe('BF_SHELL_META');
      expect((e as BootforgeError).message).toContain(where);
    }
  });
});
