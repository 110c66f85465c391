import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiskBlobStore, MemoryBlobStore } from '../../../src/fstree/blobs.js';
import { FsTree } from '../../../src/fstree/tree.js';
import type { BlobStore } from '../../../src/fstree/types.js';
import {
  indexKernelModules,
  ModuleIndex,
  moduleClosure,
  readKmodIndex,
  writeKmodIndex,
  writeModuleFiles,
  type ModuleClosure,
} from '../../../src/initrd/modules.js';
import { RecordingReporter } from '../../../src/log/events.js';
import { moduleIndexFor } from '../../../src/pipeline/initrd.js';
import { makeModule } from '../../helpers/make-elf.js';
import { thrown } from '../../helpers/errors.js';

const KVER = '6.1.0-99-amd64';
const DIR = `/usr/lib/modules/${KVER}`;
const meta = { mode: 0o644, uid: 0, gid: 0, mtime: 0 };

type Info = readonly (readonly [string, string])[];

/** The fake kernel: enough modules for every rule the closure follows. */
const MODULES: Record<string, Info> = {
  'kernel/lib/crc16.ko': [['depends', '']],
  'kernel/fs/mbcache.ko': [['depends', '']],
  'kernel/fs/jbd2/jbd2.ko': [
    ['softdep', 'pre: crypto-crc32c'],
    ['depends', ''],
  ],
  'kernel/fs/ext4/ext4.ko': [
    ['softdep', 'pre: crypto-crc32c'],
    ['alias', 'fs-ext4'],
    ['alias', 'ext3'],
    ['depends', 'jbd2,mbcache,crc16'],
    ['license', 'GPL'],
  ],
  'kernel/crypto/crc32c_generic.ko': [
    ['alias', 'crypto-crc32c-generic'],
    ['alias', 'crypto-crc32c'],
    ['alias', 'crc32c'],
    ['depends', ''],
  ],
  'kernel/arch/x86/crypto/crc32c-intel.ko': [
    ['alias', 'crypto-crc32c-intel'],
    ['alias', 'crypto-crc32c'],
    ['alias', 'cpu:type:x86,ven*fam*mod*:feature:*0094*'],
    ['depends', ''],
  ],
  'kernel/drivers/virtio/virtio.ko': [['depends', '']],
  'kernel/drivers/virtio/virtio_ring.ko': [['depends', '']],
  'kernel/drivers/block/virtio_blk.ko': [
    ['alias', 'virtio:d00000002v*'],
    ['alias', 'pci:v00001AF4d00001001sv*sd*bc*sc*i*'],
    ['depends', 'virtio,virtio_ring'],
  ],
  'kernel/drivers/usb/storage/usb-storage.ko': [
    ['alias', 'usb:v13FDp3940d0[0-2]*dc*dsc*dp*ic*isc*ip*in*'],
    ['alias', 'usb:v*p*d*dc*dsc*dp*ic08isc06ip50in*'],
    ['depends', ''],
  ],
  'kernel/drivers/usb/storage/uas.ko': [
    ['alias', 'usb:v13FDp3940d0[0-2]*dc*dsc*dp*ic*isc*ip*in*'],
    ['depends', 'usb-storage'],
  ],
  'kernel/sound/core/snd.ko': [['depends', '']],
  'kernel/sound/core/snd-timer.ko': [['depends', 'snd']],
  'kernel/sound/core/snd-pcm.ko': [['depends', 'snd,snd-timer']],
  'kernel/misc/cyc_a.ko': [['depends', 'cyc_b']],
  'kernel/misc/cyc_b.ko': [['depends', 'cyc_a']],
  'kernel/misc/soft_a.ko': [
    ['softdep', 'pre: soft_b'],
    ['depends', ''],
  ],
  'kernel/misc/soft_b.ko': [
    ['softdep', 'pre: soft_a post: vanished-module'],
    ['depends', ''],
  ],
  'kernel/net/packet/af_packet_diag.ko': [
    ['softdep', 'pre: net-pf-1'],
    ['alias', 'net-pf-16-proto-4-type-17'],
    ['depends', ''],
  ],
  'kernel/drivers/net/ethernet/realtek/r8169.ko': [
    ['firmware', 'rtl_nic/rtl8168h-2.fw'],
    ['firmware', 'rtl_nic/rtl8125a-3.fw'],
    ['alias', 'pci:v000010ECd00008168sv*sd*bc*sc*i*'],
    ['depends', ''],
  ],
};

const BUILTIN = 'kernel/net/unix/unix.ko\nkernel/fs/nls/nls_base.ko\n';
// crypto_algapi is built in but not in modules.builtin (it is never a module), as on the real kernel.
const BUILTIN_MODINFO =
  'unix.license=GPL\0unix.alias=net-pf-1\0nls_base.license=Dual BSD/GPL\0crypto_algapi.softdep=pre: cryptomgr\0' +
  'zbud.alias=zpool-zbud\0';
// Not every module is listed: the rest sort after, by path.
const ORDER = [
  'kernel/arch/x86/crypto/crc32c-intel.ko',
  'kernel/crypto/crc32c_generic.ko',
  'kernel/lib/crc16.ko',
  'kernel/fs/mbcache.ko',
  'kernel/fs/jbd2/jbd2.ko',
  'kernel/fs/ext4/ext4.ko',
  'kernel/drivers/virtio/virtio.ko',
  'kernel/drivers/virtio/virtio_ring.ko',
  'kernel/drivers/block/virtio_blk.ko',
];

async function kernelTree(blobs: BlobStore): Promise<FsTree> {
  const tree = FsTree.withMergedUsr();
  const put = async (path: string, data: Buffer) => {
    const sha256 = await blobs.put(data);
    tree.add({ ...meta, type: 'file', path, size: data.length, sha256 }, { package: `linux-image-${KVER}` });
  };
  for (const [path, info] of Object.entries(MODULES)) await put(`/lib/modules/${KVER}/${path}`, makeModule(info));
  await put(`/lib/modules/${KVER}/modules.builtin`, Buffer.from(BUILTIN));
  await put(`/lib/modules/${KVER}/modules.builtin.modinfo`, Buffer.from(BUILTIN_MODINFO));
  await put(`/lib/modules/${KVER}/modules.order`, Buffer.from(ORDER.map((l) => `${l}\n`).join('')));
  return tree;
}

const names = (c: ModuleClosure) => c.modules.map((m) => m.module.name);

/** Every module comes after its dependencies (and pre soft dependencies that are not part of a loop). */
function expectLoadOrder(c: ModuleClosure) {
  const position = new Map(names(c).map((n, i) => [n, i]));
  for (const { module } of c.modules) {
    for (const dep of module.depends)
      expect(position.get(dep), `${dep} before ${module.name}`).toBeLessThan(position.get(module.name) ?? -1);
  }
}

let index: ModuleIndex;
const tmp = mkdtempSync(join(tmpdir(), 'bootforge-modules-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeAll(async () => {
  const blobs = new MemoryBlobStore();
  index = await indexKernelModules(await kernelTree(blobs), blobs, KVER);
});

describe('indexKernelModules', () => {
  it('indexes every .ko by its .modinfo, in modules.order order', () => {
    expect(index.kver).toBe(KVER);
    expect(index.dir).toBe(DIR);
    expect(index.modules.length).toBe(Object.keys(MODULES).length);
    expect(index.modules.slice(0, ORDER.length).map((m) => m.path)).toEqual(ORDER);
    // Unlisted modules follow by path.
    const rest = index.modules.slice(ORDER.length).map((m) => m.path);
    expect(rest).toEqual([...rest].sort());
    expect(index.module('crc32c-intel')).toMatchObject({
      name: 'crc32c_intel',
      path: 'kernel/arch/x86/crypto/crc32c-intel.ko',
      aliases: ['crypto-crc32c-intel', 'crypto-crc32c', 'cpu:type:x86,ven*fam*mod*:feature:*0094*'],
    });
    expect(index.module('ext4')).toMatchObject({
      depends: ['jbd2', 'mbcache', 'crc16'],
      softdeps: { pre: ['crypto-crc32c'], post: [] },
      license: 'GPL',
    });
    expect(index.module('uas')?.depends).toEqual(['usb_storage']);
    expect(index.builtins).toEqual([
      { name: 'unix', path: 'kernel/net/unix/unix.ko', aliases: ['net-pf-1'], firmware: [] },
      { name: 'nls_base', path: 'kernel/fs/nls/nls_base.ko', aliases: [], firmware: [] },
      { name: 'crypto_algapi', aliases: [], firmware: [] },
      { name: 'zbud', aliases: ['zpool-zbud'], firmware: [] },
    ]);
  });

  it('reads the same index through a disk blob store (only the .modinfo section of each file)', async () => {
    const blobs = new DiskBlobStore(join(tmp, 'blobs'));
    const fromDisk = await indexKernelModules(await kernelTree(blobs), blobs, KVER, { concurrency: 3 });
    expect(fromDisk.toJSON()).toEqual(index.toJSON());
  });

  it('survives a JSON round trip', () => {
    const again = ModuleIndex.fromJSON(JSON.parse(JSON.stringify(index)));
    expect(again.toJSON()).toEqual(index.toJSON());
    expect(again.builtinModinfo.equals(Buffer.from(BUILTIN_MODINFO))).toBe(true);
    expect(names(moduleClosure(again, ['ext4', 'virtio_blk']))).toEqual(
      names(moduleClosure(index, ['ext4', 'virtio_blk'])),
    );
  });

  it('refuses a damaged cached index with BF_IO', () => {
    const e = thrown(() => ModuleIndex.fromJSON({ ...index.toJSON(), modules: [{ name: 'x' }] }));
    expect(e.code).toBe('BF_IO');
    expect(e.message).toBe('cached kernel module index is unusable: module entry 0 is malformed');
    expect(thrown(() => ModuleIndex.fromJSON({ format: 'other' })).code).toBe('BF_IO');
    expect(thrown(() => ModuleIndex.fromJSON(null)).code).toBe('BF_IO');
  });

  it('refuses a kernel version the tree does not have', async () => {
    const blobs = new MemoryBlobStore();
    await expect(indexKernelModules(await kernelTree(blobs), blobs, '6.1.0-1-amd64')).rejects.toMatchObject({
      code: 'BF_MODULE_NOT_FOUND',
      message: 'kernel 6.1.0-1-amd64 has no /lib/modules/6.1.0-1-amd64 in the package tree',
    });
  });

  it('refuses a .ko that is not ELF, or has no .modinfo, naming the file', async () => {
    for (const [data, why] of [
      [Buffer.from('garbage, not an ELF file at all, but long enough to have a header.......'), 'not an ELF file'],
      [makeModule([]).subarray(0, 90), 'is outside the file'],
    ] as const) {
      const blobs = new MemoryBlobStore();
      const tree = await kernelTree(blobs);
      const sha256 = await blobs.put(data);
      tree.add({ ...meta, type: 'file', path: `${DIR}/kernel/bad.ko`, size: data.length, sha256 });
      await expect(indexKernelModules(tree, blobs, KVER)).rejects.toMatchObject({
        code: 'BF_BAD_ELF',
        message: expect.stringContaining(`${DIR}/kernel/bad.ko: `) as unknown,
      });
      await expect(indexKernelModules(tree, blobs, KVER)).rejects.toThrow(why);
    }
    const blobs = new MemoryBlobStore();
    const tree = await kernelTree(blobs);
    const noModinfo = (await import('../../helpers/make-elf.js')).makeElf({
      sections: [{ name: '.text', data: Buffer.alloc(4) }],
    });
    tree.add({
      ...meta,
      type: 'file',
      path: `${DIR}/kernel/plain.ko`,
      size: noModinfo.length,
      sha256: await blobs.put(noModinfo),
    });
    await expect(indexKernelModules(tree, blobs, KVER)).rejects.toThrow(
      `${DIR}/kernel/plain.ko: has no .modinfo section`,
    );
  });
});

describe('moduleClosure', () => {
  it('follows depends chains and soft dependencies through an alias', () => {
    const c = moduleClosure(index, ['ext4']);
    expect(new Set(names(c))).toEqual(new Set(['ext4', 'jbd2', 'mbcache', 'crc16', 'crc32c_intel', 'crc32c_generic']));
    expectLoadOrder(c);
    // crypto-crc32c is an alias of two modules; both load before jbd2 and ext4, as modprobe does it.
    const at = (n: string) => names(c).indexOf(n);
    expect(at('crc32c_generic')).toBeLessThan(at('jbd2'));
    expect(at('crc32c_intel')).toBeLessThan(at('jbd2'));
    expect(names(c)[names(c).length - 1]).toBe('ext4');
    const jbd2 = c.modules.find((m) => m.module.name === 'jbd2');
    expect(jbd2?.reasons).toEqual(['dependency of ext4']);
    const crc = c.modules.find((m) => m.module.name === 'crc32c_generic');
    expect(crc?.reasons).toEqual([
      'soft dependency (pre) of ext4 via crypto-crc32c',
      'soft dependency (pre) of jbd2 via crypto-crc32c',
    ]);
    expect(c.modules.find((m) => m.module.name === 'ext4')?.treePath).toBe(`${DIR}/kernel/fs/ext4/ext4.ko`);
    expect(c.builtins).toEqual([]);
    expect(c.cycles).toEqual([]);
  });

  it('gives a deterministic load order', () => {
    expect(names(moduleClosure(index, ['ext4']))).toEqual([
      'crc32c_intel',
      'crc32c_generic',
      'jbd2',
      'mbcache',
      'crc16',
      'ext4',
    ]);
    const requests = ['uas', 'virtio_blk', 'ext4', 'snd_*'];
    expect(names(moduleClosure(index, requests))).toEqual(names(moduleClosure(index, requests)));
  });

  it('satisfies built-ins silently and reports them', () => {
    const c = moduleClosure(index, ['unix', 'nls-base', 'af_packet_diag']);
    expect(names(c)).toEqual(['af_packet_diag']);
    // af_packet_diag's soft dependency net-pf-1 is an alias of the built-in unix.
    expect(c.builtins).toEqual(['nls_base', 'unix']);
    expect(c.requests).toEqual([
      { request: 'unix', modules: [], builtins: ['unix'] },
      { request: 'nls-base', modules: [], builtins: ['nls_base'] },
      { request: 'af_packet_diag', modules: ['af_packet_diag'], builtins: [] },
    ]);
    expect(moduleClosure(index, ['net-pf-1']).builtins).toEqual(['unix']);
    // Built-ins known only from modules.builtin.modinfo count too.
    expect(moduleClosure(index, ['crypto-algapi', 'zpool-zbud']).builtins).toEqual(['crypto_algapi', 'zbud']);
  });

  it('matches modalias strings against alias patterns, and modalias globs both ways', () => {
    const exact = moduleClosure(index, ['pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00']);
    expect(names(exact)).toEqual(['virtio', 'virtio_ring', 'virtio_blk']);
    expect(exact.requests[0]?.modules).toEqual(['virtio_blk']);
    expect(names(moduleClosure(index, ['pci:v00001AF4d00001001sv*']))).toEqual(['virtio', 'virtio_ring', 'virtio_blk']);
    // A bracket range in the alias pattern; two modules answer, both are taken (as modprobe does).
    const usb = moduleClosure(index, ['usb:v13FDp3940d0150dc00dsc00dp00ic08isc06ip50in00']);
    expect(usb.requests[0]?.modules).toEqual(['uas', 'usb_storage']);
    expect(names(usb)).toEqual(['usb_storage', 'uas']);
    expect(names(moduleClosure(index, ['fs-ext4'])).at(-1)).toBe('ext4');
  });

  it('expands globs over module names, with "-" and "_" the same', () => {
    for (const glob of ['snd_*', 'snd-*']) {
      const c = moduleClosure(index, [glob]);
      expect(c.requests[0]?.modules).toEqual(['snd_pcm', 'snd_timer']);
      expect(names(c)).toEqual(['snd', 'snd_timer', 'snd_pcm']);
    }
    expect(moduleClosure(index, ['s?d']).requests[0]?.modules).toEqual(['snd']);
  });

  it('treats "-" and "_" as the same character in names', () => {
    for (const name of ['usb-storage', 'usb_storage'])
      expect(names(moduleClosure(index, [name]))).toEqual(['usb_storage']);
    expect(names(moduleClosure(index, ['crc32c_intel', 'crc32c-intel']))).toEqual(['crc32c_intel']);
  });

  it('refuses a request that matches nothing, with a suggestion, reporting all of them', () => {
    const e = thrown(() => moduleClosure(index, ['virtio_blkk', 'ext4', 'no-such-thing-at-all']));
    expect(e.code).toBe('BF_MODULE_NOT_FOUND');
    expect(e.message).toBe(`no kernel module matches "virtio_blkk" (by name, alias or modalias)`);
    expect(e.hint).toBe('did you mean virtio_blk?');
    expect(e.also.map((x) => x.message)).toEqual([
      `no kernel module matches "no-such-thing-at-all" (by name, alias or modalias)`,
    ]);
    expect(e.also[0]?.hint).toBe(
      'check the name (modinfo -n NAME on a machine with this kernel), or add the package that ships it',
    );
    expect(thrown(() => moduleClosure(index, ['zz_*'])).code).toBe('BF_MODULE_NOT_FOUND');
  });

  it('includes a dependency cycle, reports it, and ends', () => {
    const c = moduleClosure(index, ['cyc_a']);
    expect(names(c)).toEqual(['cyc_b', 'cyc_a']);
    expect(c.cycles).toEqual([['cyc_a', 'cyc_b']]);
  });

  it('cuts soft-dependency loops without calling them cycles, and lists soft dependencies that match nothing', () => {
    const c = moduleClosure(index, ['soft_a']);
    expect(names(c)).toEqual(['soft_b', 'soft_a']);
    expect(c.cycles).toEqual([]);
    expect(c.missingSoftdeps).toEqual([{ module: 'soft_b', softdep: 'vanished-module' }]);
  });

  it('collects the firmware and the size of what it includes', () => {
    const c = moduleClosure(index, ['r8169', 'ext4']);
    expect(c.firmware).toEqual(['rtl_nic/rtl8125a-3.fw', 'rtl_nic/rtl8168h-2.fw']);
    expect(c.size).toBe(c.modules.reduce((n, m) => n + m.module.size, 0));
    expect(c.size).toBeGreaterThan(0);
  });
});

describe('writeModuleFiles', () => {
  const text = (files: Map<string, Buffer> | ReadonlyMap<string, Buffer>, name: string) =>
    files.get(name)?.toString() ?? '';

  it('writes modules.dep like depmod: every dependency, the last one loaded first', () => {
    const { dir, files } = writeModuleFiles(moduleClosure(index, ['ext4', 'uas', 'snd-pcm']), KVER);
    expect(dir).toBe(`lib/modules/${KVER}`);
    expect([...files.keys()]).toEqual([
      'modules.dep',
      'modules.dep.bin',
      'modules.alias',
      'modules.alias.bin',
      'modules.softdep',
      'modules.builtin',
      'modules.builtin.bin',
      'modules.builtin.alias.bin',
      'modules.builtin.modinfo',
      'modules.order',
    ]);
    expect(text(files, 'modules.dep')).toBe(
      [
        'kernel/arch/x86/crypto/crc32c-intel.ko:',
        'kernel/crypto/crc32c_generic.ko:',
        'kernel/lib/crc16.ko:',
        'kernel/fs/mbcache.ko:',
        'kernel/fs/jbd2/jbd2.ko:',
        'kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko',
        'kernel/drivers/usb/storage/uas.ko: kernel/drivers/usb/storage/usb-storage.ko',
        'kernel/drivers/usb/storage/usb-storage.ko:',
        'kernel/sound/core/snd-pcm.ko: kernel/sound/core/snd-timer.ko kernel/sound/core/snd.ko',
        'kernel/sound/core/snd-timer.ko: kernel/sound/core/snd.ko',
        'kernel/sound/core/snd.ko:',
        '',
      ].join('\n'),
    );
    expect(text(files, 'modules.alias')).toBe(
      [
        '# Aliases extracted from modules themselves.',
        'alias crypto-crc32c-intel crc32c_intel',
        'alias crypto-crc32c crc32c_intel',
        'alias cpu:type:x86,ven*fam*mod*:feature:*0094* crc32c_intel',
        'alias crypto-crc32c-generic crc32c_generic',
        'alias crypto-crc32c crc32c_generic',
        'alias crc32c crc32c_generic',
        'alias fs-ext4 ext4',
        'alias ext3 ext4',
        'alias usb:v13FDp3940d0[0-2]*dc*dsc*dp*ic*isc*ip*in* uas',
        'alias usb:v13FDp3940d0[0-2]*dc*dsc*dp*ic*isc*ip*in* usb_storage',
        'alias usb:v*p*d*dc*dsc*dp*ic08isc06ip50in* usb_storage',
        '',
      ].join('\n'),
    );
    expect(text(files, 'modules.softdep')).toBe(
      [
        '# Soft dependencies extracted from modules themselves.',
        'softdep jbd2 pre: crypto-crc32c',
        'softdep ext4 pre: crypto-crc32c',
        '',
      ].join('\n'),
    );
    expect(text(files, 'modules.builtin')).toBe(BUILTIN);
    expect(text(files, 'modules.builtin.modinfo')).toBe(BUILTIN_MODINFO);
    expect(text(files, 'modules.order')).toBe(
      [
        'kernel/arch/x86/crypto/crc32c-intel.ko',
        'kernel/crypto/crc32c_generic.ko',
        'kernel/lib/crc16.ko',
        'kernel/fs/mbcache.ko',
        'kernel/fs/jbd2/jbd2.ko',
        'kernel/fs/ext4/ext4.ko',
        'kernel/drivers/usb/storage/uas.ko',
        'kernel/drivers/usb/storage/usb-storage.ko',
        'kernel/sound/core/snd-pcm.ko',
        'kernel/sound/core/snd-timer.ko',
        'kernel/sound/core/snd.ko',
        '',
      ].join('\n'),
    );
  });

  it('lists dependencies so that loading them from the last to the first works', () => {
    const { files } = writeModuleFiles(moduleClosure(index, ['*']), KVER);
    const lines = text(files, 'modules.dep').trim().split('\n');
    const depsOf = new Map(
      lines.map((l) => {
        const [mod, rest] = l.split(':');
        return [mod ?? '', (rest ?? '').split(' ').filter((d) => d !== '')] as const;
      }),
    );
    expect(depsOf.size).toBe(index.modules.length);
    for (const [mod, deps] of depsOf) {
      if (mod.includes('/cyc_')) continue; // no order satisfies a cycle
      const loaded = new Set<string>();
      for (const d of [...deps].reverse()) {
        for (const dd of depsOf.get(d) ?? [])
          expect(loaded.has(dd), `${dd} loaded before ${d} (for ${mod})`).toBe(true);
        loaded.add(d);
      }
    }
  });

  it('writes kmod indexes that say what the text files say', () => {
    const { files } = writeModuleFiles(moduleClosure(index, ['ext4', 'uas', 'virtio_blk']), KVER);
    const dep = readKmodIndex(files.get('modules.dep.bin') ?? Buffer.alloc(0));
    const depText = text(files, 'modules.dep').trim().split('\n');
    expect([...dep.keys()].sort()).toEqual([
      'crc16',
      'crc32c_generic',
      'crc32c_intel',
      'ext4',
      'jbd2',
      'mbcache',
      'uas',
      'usb_storage',
      'virtio',
      'virtio_blk',
      'virtio_ring',
    ]);
    for (const [name, values] of dep) {
      expect(values).toHaveLength(1);
      expect(depText).toContain(values[0]?.value);
      expect(values[0]?.value.startsWith(index.module(name)?.path ?? '?')).toBe(true);
    }
    const alias = readKmodIndex(files.get('modules.alias.bin') ?? Buffer.alloc(0));
    expect(alias.get('crypto_crc32c')?.map((v) => v.value)).toEqual(['crc32c_intel', 'crc32c_generic']);
    expect(alias.get('fs_ext4')?.map((v) => v.value)).toEqual(['ext4']);
    expect(
      alias
        .get('usb:v13FDp3940d0[0-2]*dc*dsc*dp*ic*isc*ip*in*')
        ?.map((v) => v.value)
        .sort(),
    ).toEqual(['uas', 'usb_storage']);
    expect(alias.get('pci:v00001AF4d00001001sv*sd*bc*sc*i*')?.map((v) => v.value)).toEqual(['virtio_blk']);
    const builtin = readKmodIndex(files.get('modules.builtin.bin') ?? Buffer.alloc(0));
    expect([...builtin]).toEqual([
      ['nls_base', [{ value: '', priority: 0 }]],
      ['unix', [{ value: '', priority: 0 }]],
    ]);
    const builtinAlias = readKmodIndex(files.get('modules.builtin.alias.bin') ?? Buffer.alloc(0));
    expect([...builtinAlias]).toEqual([
      ['net_pf_1', [{ value: 'unix', priority: 0 }]],
      ['zpool_zbud', [{ value: 'zbud', priority: 0 }]],
    ]);
  });

  it("refuses a kernel version other than the closure's", () => {
    expect(thrown(() => writeModuleFiles(moduleClosure(index, ['ext4']), '5.10.0-1-amd64')).code).toBe('BF_INTERNAL');
  });
});

describe('kmod binary index', () => {
  it('writes the documented layout', () => {
    // Header, then the leaf for "a" at 12 (values flag), then the root at 22 (children flag).
    expect(writeKmodIndex([{ key: 'a', value: 'x', priority: 0 }]).toString('hex')).toBe(
      ['b007f457', '00020001', '20000016', '00000001', '00000000', '7800', '6161', '4000000c'].join(''),
    );
    expect(writeKmodIndex([]).toString('hex')).toBe('b007f457000200010000000c');
  });

  it('reads back what it writes, prefixes shared or not', () => {
    const entries = [
      { key: 'ask', value: '1', priority: 3 },
      { key: 'ate', value: '2', priority: 0 },
      { key: 'on', value: '3', priority: 0 },
      { key: 'once', value: '4', priority: 0 },
      { key: 'one', value: '5', priority: 0 },
      { key: 'ask', value: '0', priority: 1 },
      { key: 'ask', value: '0', priority: 1 },
      { key: 'o', value: '6', priority: 0 },
    ];
    const read = readKmodIndex(writeKmodIndex(entries));
    expect(Object.fromEntries(read)).toEqual({
      ask: [
        { value: '0', priority: 1 },
        { value: '0', priority: 1 },
        { value: '1', priority: 3 },
      ],
      ate: [{ value: '2', priority: 0 }],
      o: [{ value: '6', priority: 0 }],
      on: [{ value: '3', priority: 0 }],
      once: [{ value: '4', priority: 0 }],
      one: [{ value: '5', priority: 0 }],
    });
    // The order keys arrive in does not change the bytes.
    expect(writeKmodIndex([...entries].sort((a, b) => (a.key < b.key ? -1 : 1)))).toEqual(
      writeKmodIndex([...entries].sort((a, b) => (a.key > b.key ? -1 : 1))),
    );
  });

  it('refuses non-ASCII keys', () => {
    expect(thrown(() => writeKmodIndex([{ key: 'é', value: 'x', priority: 0 }])).code).toBe('BF_INTERNAL');
  });
});

describe('the cached module index', () => {
  it('a corrupt cache entry is warned about and rebuilt; a good one is used as is', async () => {
    const blobs = new MemoryBlobStore();
    const tree = await kernelTree(blobs);
    const vmlinuz = { ...meta, type: 'file' as const, path: '/boot/vmlinuz', size: 1, sha256: 'a'.repeat(64) };
    const kernel = { release: KVER, vmlinuz, modulesDir: DIR };
    const cache = join(tmp, 'cache');
    const reporter = new RecordingReporter();
    const first = await moduleIndexFor(tree, blobs, kernel, cache, reporter);
    const path = join(cache, 'modindex', `${vmlinuz.sha256}.json`);
    // One byte changed, the JSON still valid: a module renamed.
    const text = readFileSync(path, 'utf8');
    expect(text).toContain('"name":"virtio_blk"');
    writeFileSync(path, text.replace('"name":"virtio_blk"', '"name":"virtio_bld"'));
    const second = await moduleIndexFor(tree, blobs, kernel, cache, reporter);
    expect(second.toJSON()).toEqual(first.toJSON());
    expect(reporter.events).toEqual([
      { type: 'warning', message: `the cached module index ${path} was corrupt; indexing again` },
    ]);
    expect(readFileSync(path, 'utf8')).toBe(text);
    await moduleIndexFor(tree, blobs, kernel, cache, reporter);
    expect(reporter.events).toHaveLength(1);
  });
});
