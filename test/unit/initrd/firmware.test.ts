import { describe, expect, it } from 'vitest';
import { FsTree } from '../../../src/fstree/tree.js';
import { firmwareClosure } from '../../../src/initrd/firmware.js';

const meta = { uid: 0, gid: 0, mtime: 0 };
const sha = (c: string) => c.repeat(64);

/** A firmware tree as Debian's firmware packages lay it out (they ship ./lib/firmware, which lands in /usr). */
function firmwareTree(): FsTree {
  const tree = FsTree.withMergedUsr();
  const file = (path: string, pkg: string, c = 'a') =>
    tree.add({ ...meta, mode: 0o644, type: 'file', path, size: 10, sha256: sha(c) }, { package: pkg });
  const link = (path: string, target: string, pkg: string) =>
    tree.add({ ...meta, mode: 0o777, type: 'symlink', path, target }, { package: pkg });
  file('/lib/firmware/rtl_nic/rtl8168h-2.fw', 'firmware-realtek');
  file('/lib/firmware/rtl_nic/rtl8125a-3.fw', 'firmware-realtek', 'b');
  file('/lib/firmware/rtl_nic/rtl8168g-1.fw', 'firmware-realtek', 'c');
  file('/lib/firmware/rtl_nic/sub/deeper.fw', 'firmware-realtek', 'd');
  file('/lib/firmware/intel/iwlwifi-foo-77.ucode', 'firmware-iwlwifi', 'e');
  link('/lib/firmware/iwlwifi-foo-77.ucode', 'intel/iwlwifi-foo-77.ucode', 'firmware-iwlwifi');
  link('/lib/firmware/iwlwifi-abs-1.ucode', '/lib/firmware/intel/iwlwifi-foo-77.ucode', 'firmware-iwlwifi');
  link('/lib/firmware/iwlwifi-dangling.ucode', 'intel/gone.ucode', 'firmware-iwlwifi');
  file('/lib/firmware/amdgpu/green_sardine_dmcub.bin.zst', 'firmware-amd-graphics', 'f');
  file('/lib/firmware/amdgpu/psp.bin.xz', 'firmware-amd-graphics', '1');
  file('/lib/firmware/vendor/real/fw.bin', 'firmware-misc-nonfree', '2');
  link('/lib/firmware/vendor/alias', 'real', 'firmware-misc-nonfree');
  file('/lib/firmware/updates/rtl_nic/rtl8168h-2.fw', 'local-overrides', '3');
  file('/lib/firmware/6.1.0-99-amd64/special.bin', 'kernel-specific', '4');
  return tree;
}

describe('firmwareClosure', () => {
  it('includes requested files, follows symlinks inside the tree and keeps them', () => {
    const fw = firmwareClosure(
      firmwareTree(),
      ['rtl_nic/rtl8125a-3.fw', 'iwlwifi-foo-77.ucode', 'iwlwifi-abs-1.ucode'],
      [],
    );
    expect(fw.missing).toEqual([]);
    expect(fw.paths.map((p) => [p.path, p.type, p.target])).toEqual([
      ['/lib', 'symlink', 'usr/lib'],
      ['/usr/lib/firmware/intel/iwlwifi-foo-77.ucode', 'file', undefined],
      ['/usr/lib/firmware/iwlwifi-abs-1.ucode', 'symlink', '/lib/firmware/intel/iwlwifi-foo-77.ucode'],
      ['/usr/lib/firmware/iwlwifi-foo-77.ucode', 'symlink', 'intel/iwlwifi-foo-77.ucode'],
      ['/usr/lib/firmware/rtl_nic/rtl8125a-3.fw', 'file', undefined],
    ]);
    const target = fw.paths.find((p) => p.path === '/usr/lib/firmware/intel/iwlwifi-foo-77.ucode');
    expect(target?.reasons).toEqual(['firmware iwlwifi-foo-77.ucode', 'firmware iwlwifi-abs-1.ucode']);
    expect(fw.found.get('iwlwifi-foo-77.ucode')).toBe('/usr/lib/firmware/iwlwifi-foo-77.ucode');
  });

  it('takes a .zst or .xz sibling as it is when the plain file is absent', () => {
    const fw = firmwareClosure(firmwareTree(), ['amdgpu/green_sardine_dmcub.bin', 'amdgpu/psp.bin'], []);
    expect(fw.missing).toEqual([]);
    expect(fw.paths.map((p) => p.path)).toEqual([
      '/usr/lib/firmware/amdgpu/green_sardine_dmcub.bin.zst',
      '/usr/lib/firmware/amdgpu/psp.bin.xz',
    ]);
  });

  it('prefers /lib/firmware/updates, and knows the per-kernel directory', () => {
    const tree = firmwareTree();
    expect(firmwareClosure(tree, ['rtl_nic/rtl8168h-2.fw'], []).paths.map((p) => p.path)).toEqual([
      '/usr/lib/firmware/updates/rtl_nic/rtl8168h-2.fw',
    ]);
    expect(firmwareClosure(tree, ['special.bin'], []).missing).toEqual(['special.bin']);
    expect(firmwareClosure(tree, ['special.bin'], [], { kver: '6.1.0-99-amd64' }).paths.map((p) => p.path)).toEqual([
      '/usr/lib/firmware/6.1.0-99-amd64/special.bin',
    ]);
  });

  it('keeps a directory symlink on the way', () => {
    const fw = firmwareClosure(firmwareTree(), ['vendor/alias/fw.bin'], []);
    expect(fw.paths.map((p) => [p.path, p.type])).toEqual([
      ['/usr/lib/firmware/vendor/alias', 'symlink'],
      ['/usr/lib/firmware/vendor/real/fw.bin', 'file'],
    ]);
  });

  it('lists what it cannot find instead of failing', () => {
    const fw = firmwareClosure(
      firmwareTree(),
      ['rtl_nic/nope.fw', 'iwlwifi-dangling.ucode', '../../etc/shadow', '/etc/shadow', 'rtl_nic/nope.fw'],
      [],
    );
    expect(fw.paths).toEqual([]);
    expect(fw.missing).toEqual(['rtl_nic/nope.fw', 'iwlwifi-dangling.ucode', '../../etc/shadow', '/etc/shadow']);
  });

  it('selects a package\'s files by glob ("*" stays within a directory)', () => {
    const fw = firmwareClosure(
      firmwareTree(),
      [],
      [
        { package: 'firmware-realtek', files: ['rtl_nic/rtl8168*', 'nothing-like-this*'] },
        { package: 'firmware-iwlwifi', files: ['iwlwifi-*.ucode'] },
        { package: 'firmware-amd-graphics', files: ['amdgpu/psp.bin'] },
        { package: 'firmware-not-installed', files: ['*'] },
      ],
    );
    expect(fw.paths.map((p) => p.path)).toEqual([
      '/lib',
      '/usr/lib/firmware/amdgpu/psp.bin.xz',
      '/usr/lib/firmware/intel/iwlwifi-foo-77.ucode',
      '/usr/lib/firmware/iwlwifi-abs-1.ucode',
      '/usr/lib/firmware/iwlwifi-foo-77.ucode',
      '/usr/lib/firmware/rtl_nic/rtl8168g-1.fw',
      '/usr/lib/firmware/rtl_nic/rtl8168h-2.fw',
    ]);
    expect(fw.paths.find((p) => p.path.endsWith('rtl8168g-1.fw'))?.reasons).toEqual([
      'firmware rtl_nic/rtl8168* of firmware-realtek',
    ]);
    expect(fw.missing).toEqual(['firmware-realtek: nothing-like-this*', 'firmware-not-installed: *']);
  });
});
