import { describe, expect, it } from 'vitest';
import {
  isModulePath,
  moduleNameFromPath,
  normalizeAlias,
  parseBuiltinModinfo,
  parseModinfo,
  parseModulesBuiltin,
  parseSoftdep,
} from '../../../src/initrd/modinfo.js';
import { fnmatch } from '../../../src/initrd/modules.js';
import { modinfoSection } from '../../helpers/make-elf.js';

describe('module names', () => {
  it.each([
    ['kernel/arch/x86/crypto/crc32c-intel.ko', 'crc32c_intel'],
    ['kernel/drivers/usb/storage/usb-storage.ko.xz', 'usb_storage'],
    ['kernel/fs/ext4/ext4.ko.zst', 'ext4'],
    ['snd-hda-intel.ko.gz', 'snd_hda_intel'],
  ])('%s is %s', (path, name) => {
    expect(moduleNameFromPath(path)).toBe(name);
    expect(isModulePath(path)).toBe(true);
  });

  it('knows what is not a module', () => {
    expect(isModulePath('kernel/fs/ext4/ext4.o')).toBe(false);
    expect(isModulePath('modules.dep')).toBe(false);
  });

  it('normalises aliases like modprobe: "-" as "_" except in brackets', () => {
    expect(normalizeAlias('crypto-crc32c')).toBe('crypto_crc32c');
    expect(normalizeAlias('usb:v13FDp3940d0[0-2]*dc*')).toBe('usb:v13FDp3940d0[0-2]*dc*');
    expect(normalizeAlias('a-b[x-z]c-d')).toBe('a_b[x-z]c_d');
  });
});

describe('parseModinfo', () => {
  it('reads depends, aliases, softdeps, firmware and the rest', () => {
    const info = parseModinfo(
      Buffer.concat([
        modinfoSection([
          ['license', 'GPL'],
          ['description', 'Fourth Extended Filesystem'],
          ['alias', 'fs-ext4'],
          ['alias', 'ext3'],
          ['softdep', 'pre: crypto-crc32c'],
          ['softdep', 'post: foo-bar'],
          ['firmware', 'ext4/fw.bin'],
          ['depends', 'jbd2,mbcache,crc-16'],
          ['vermagic', '6.1.0-18-amd64 SMP preempt mod_unload modversions '],
          ['parm', 'x:an int'],
        ]),
        Buffer.alloc(7), // alignment padding
        Buffer.from('no-equals-sign\0'),
      ]),
      'kernel/fs/ext4/ext4.ko',
    );
    expect(info).toMatchObject({
      name: 'ext4',
      depends: ['jbd2', 'mbcache', 'crc_16'],
      aliases: ['fs-ext4', 'ext3'],
      softdeps: { pre: ['crypto-crc32c'], post: ['foo-bar'] },
      firmware: ['ext4/fw.bin'],
      license: 'GPL',
      description: 'Fourth Extended Filesystem',
      vermagic: '6.1.0-18-amd64 SMP preempt mod_unload modversions ',
    });
    expect(info.fields.parm).toEqual(['x:an int']);
  });

  it('reads an empty depends= as no dependencies', () => {
    expect(parseModinfo(modinfoSection([['depends', '']]), 'x.ko').depends).toEqual([]);
    expect(parseModinfo(Buffer.alloc(0), 'x.ko')).toMatchObject({ depends: [], aliases: [], firmware: [] });
  });

  it('parses softdeps like modprobe (words before pre:/post: are dropped)', () => {
    expect(parseSoftdep('pre: crc32c  sha256 post: foo')).toEqual({ pre: ['crc32c', 'sha256'], post: ['foo'] });
    expect(parseSoftdep('post: a pre: b post: c')).toEqual({ pre: ['b'], post: ['a', 'c'] });
    expect(parseSoftdep('gcm')).toEqual({ pre: [], post: [] });
  });
});

describe('built-in modules', () => {
  it('reads modules.builtin', () => {
    expect(parseModulesBuiltin('kernel/net/unix/unix.ko\n\nkernel/fs/nls/nls_base.ko\n')).toEqual([
      { name: 'unix', path: 'kernel/net/unix/unix.ko' },
      { name: 'nls_base', path: 'kernel/fs/nls/nls_base.ko' },
    ]);
  });

  it('reads modules.builtin.modinfo', () => {
    const data = Buffer.from(
      'unix.license=GPL\0unix.alias=net-pf-1\0zbud.alias=zpool-zbud\0unix.file=net/unix/unix\0bogus\0.x=y\0',
    );
    const infos = parseBuiltinModinfo(data);
    expect(infos.map((i) => [i.name, i.aliases, i.license])).toEqual([
      ['unix', ['net-pf-1'], 'GPL'],
      ['zbud', ['zpool-zbud'], undefined],
    ]);
  });
});

describe('fnmatch', () => {
  it.each([
    ['pci:v00001AF4d00001001sv*sd*bc*sc*i*', 'pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00', true],
    ['pci:v00001AF4d00001001sv*sd*bc*sc*i*', 'pci:v00001AF4d00001000sv00001AF4sd00000002bc01sc00i00', false],
    ['usb:v13FDp3940d0[0-2]*dc*', 'usb:v13FDp3940d0150dc00', true],
    ['usb:v13FDp3940d0[0-2]*dc*', 'usb:v13FDp3940d0350dc00', false],
    ['a[!0-9]c', 'abc', true],
    ['a[!0-9]c', 'a1c', false],
    ['a[^0-9]c', 'a1c', false],
    ['a[]]c', 'a]c', true],
    ['a[c', 'a[c', true],
    ['a\\*c', 'a*c', true],
    ['a\\*c', 'abc', false],
    ['a?c', 'abc', true],
    ['*', '', true],
    ['snd_*', 'snd_pcm', true],
    ['snd_*', 'snd', false],
    ['**a', 'bba', true],
    ['acpi*:PNP0C0A:*', 'acpi:PNP0C0A:', true],
  ])('%s vs %s: %s', (pattern, text, expected) => {
    expect(fnmatch(pattern, text)).toBe(expected);
  });

  it('keeps "*" and "?" within one path component in pathname mode', () => {
    expect(fnmatch('rtl_nic/*', 'rtl_nic/rtl8168h-2.fw', true)).toBe(true);
    expect(fnmatch('*', 'rtl_nic/rtl8168h-2.fw', true)).toBe(false);
    expect(fnmatch('*', 'rtl_nic/rtl8168h-2.fw', false)).toBe(true);
    expect(fnmatch('a?b', 'a/b', true)).toBe(false);
    expect(fnmatch('*/*.fw', 'rtl_nic/x.fw', true)).toBe(true);
  });

  it('does not take exponential time on pathological patterns', () => {
    const start = Date.now();
    expect(fnmatch('*a*a*a*a*a*a*a*a*b', 'a'.repeat(200))).toBe(false);
    expect(Date.now() - start).toBeLessThan(500);
  });
});
