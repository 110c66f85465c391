/**
 * Images written by src/image read back with the real tools: sfdisk and sgdisk must
 * see exactly the intended table and find nothing wrong; bmaptool must flash the
 * image with our .bmap (checking every range's SHA-256 as it goes) into an identical
 * copy. A tool that is not installed skips its part with a warning; CI installs all
 * of them (fdisk, gdisk, bmap-tools).
 */
import { createHash } from 'node:crypto';
import { copyFileSync, createReadStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTool, run } from '../../../src/exec/run.js';
import { blockRanges, createBmap, readBmap, verifyBmap, writeBmap, type Bmap } from '../../../src/image/bmap.js';
import { GPT_ATTRIBUTE, MIB, readGpt, writeGpt, type GptLayout, type GptSpec } from '../../../src/image/gpt.js';
import { guidFromHash, PARTITION_TYPE } from '../../../src/image/guid.js';
import { SparseImage, type SparseImageResult } from '../../../src/image/sparse.js';

const GIB = 1024 * MIB;

const HAVE = {
  sfdisk: await hasTool('sfdisk', ['--version']),
  sgdisk: await hasTool('sgdisk', ['--version']),
  bmaptool: await hasTool('bmaptool', ['--version']),
  cmp: await hasTool('cmp', ['--version']),
};
for (const [tool, pkg] of [
  ['sfdisk', 'fdisk'],
  ['sgdisk', 'gdisk'],
  ['bmaptool', 'bmap-tools'],
  ['cmp', 'diffutils'],
] as const) {
  if (!HAVE[tool]) console.warn(`${tool} is not installed (Debian package ${pkg}): skipping the checks that use it`);
}

const tmp = mkdtempSync(join(tmpdir(), 'bootforge-gpt-tools-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Built {
  readonly path: string;
  readonly layout: GptLayout;
  readonly result: SparseImageResult;
  readonly bmapPath: string;
  readonly bmap: Bmap;
}

/** Deterministic bytes that stand in for a file system. */
const filler = (seed: string, length: number): Buffer => {
  const out = Buffer.alloc(length);
  for (let at = 0, i = 0; at < length; at += 32, i++) {
    createHash('sha256').update(`${seed}/${i}`).digest().copy(out, at);
  }
  return out;
};

/**
 * Writes the GPT, then data at the start and the end of every partition, as the FAT
 * and payload writers will. The data depends on `seed` only, not on the file name.
 */
async function build(name: string, spec: GptSpec, seed = name): Promise<Built> {
  const { layout, writes } = writeGpt(spec);
  const path = join(tmp, `${name}.img`);
  const img = new SparseImage(path, layout.diskSize);
  try {
    await Promise.all(writes.map((w) => img.write(w.offset, w.data)));
    for (const p of layout.partitions) {
      await img.write(p.start, filler(`${seed}/${p.number}/head`, Math.min(MIB, p.size)));
      await img.write(p.end - 4096, filler(`${seed}/${p.number}/tail`, 4096));
    }
  } catch (e) {
    await img.close();
    throw e;
  }
  const result = await img.finalize();
  const bmapPath = join(tmp, `${name}.bmap`);
  const bmap = await writeBmap(path, result.ranges, bmapPath);
  return { path, layout, result, bmapPath, bmap };
}

const ATTRIBUTE_NAMES: Record<number, string> = {
  0: 'RequiredPartition',
  1: 'NoBlockIOProtocol',
  2: 'LegacyBIOSBootable',
};

/** The attrs string of sfdisk --json (libfdisk): named bits 0-2, then "GUID:" with the type-specific bits 48-63. */
function sfdiskAttrs(attributes: bigint): string | undefined {
  const words: string[] = [];
  for (let bit = 0; bit < 3; bit++) if ((attributes >> BigInt(bit)) & 1n) words.push(ATTRIBUTE_NAMES[bit]!);
  const guidBits = [];
  for (let bit = 48; bit < 64; bit++) if ((attributes >> BigInt(bit)) & 1n) guidBits.push(bit);
  if (guidBits.length > 0) words.push(`GUID:${guidBits.join(',')}`);
  return words.length > 0 ? words.join(' ') : undefined;
}

interface SfdiskJson {
  partitiontable: {
    label: string;
    id: string;
    unit: string;
    firstlba: number;
    lastlba: number;
    sectorsize: number;
    partitions: { start: number; size: number; type: string; uuid: string; name?: string; attrs?: string | null }[];
  };
}

const LAYOUTS: [string, GptSpec][] = [
  [
    'one partition taking the rest of 64 MiB',
    {
      diskSize: 64 * MIB,
      diskGuid: guidFromHash('it', 'one'),
      partitions: [
        { name: 'ESP', type: PARTITION_TYPE.esp, size: 'rest', attributes: GPT_ATTRIBUTE.requiredPartition },
      ],
    },
  ],
  [
    'two partitions on 1 GiB',
    {
      diskSize: GIB,
      diskGuid: guidFromHash('it', 'two'),
      partitions: [
        { name: 'ESP', type: PARTITION_TYPE.esp, size: 256 * MIB, attributes: GPT_ATTRIBUTE.requiredPartition },
        {
          name: 'bootforge payload',
          type: PARTITION_TYPE.bootforgePayload,
          size: 'rest',
          attributes: GPT_ATTRIBUTE.noAuto | GPT_ATTRIBUTE.readOnly,
        },
      ],
    },
  ],
  [
    'three partitions on a sparse 8 GiB disk',
    {
      diskSize: 8 * GIB,
      diskGuid: guidFromHash('it', 'three'),
      partitions: [
        {
          name: 'EFI system',
          type: PARTITION_TYPE.esp,
          size: 512 * MIB,
          attributes: GPT_ATTRIBUTE.requiredPartition | GPT_ATTRIBUTE.noBlockIoProtocol,
          guid: '01234567-89AB-4DEF-8123-456789ABCDEF',
        },
        {
          name: 'Système racine ✓',
          type: PARTITION_TYPE.linuxRootX86_64,
          size: 4 * GIB + 512,
          attributes: GPT_ATTRIBUTE.growFileSystem,
        },
        {
          name: 'swap',
          type: PARTITION_TYPE.linuxSwap,
          size: 'rest',
          attributes: GPT_ATTRIBUTE.legacyBiosBootable | GPT_ATTRIBUTE.noAuto,
        },
      ],
    },
  ],
  [
    'a disk sized to fit its partitions',
    {
      diskGuid: guidFromHash('it', 'computed'),
      partitions: [
        { name: 'ESP', type: PARTITION_TYPE.esp, size: 32 * MIB },
        { name: 'root', type: PARTITION_TYPE.linuxFilesystem, size: 20 * MIB + 512 },
      ],
    },
  ],
];

describe.each(LAYOUTS)('%s', (name, spec) => {
  let built: Built;
  beforeAll(async () => {
    built = await build(name.replace(/\W+/g, '-'), spec);
  });

  it.skipIf(!HAVE.sfdisk)('sfdisk --json sees exactly the intended table', async () => {
    const json = JSON.parse((await run(['sfdisk', '--json', built.path])).stdout.toString('utf8')) as SfdiskJson;
    const t = json.partitiontable;
    expect([t.label, t.id, t.unit, t.sectorsize, t.firstlba, t.lastlba]).toEqual([
      'gpt',
      built.layout.diskGuid,
      'sectors',
      512,
      built.layout.firstUsableLba,
      built.layout.lastUsableLba,
    ]);
    expect(
      t.partitions.map(({ start, size, type, uuid, name: n, attrs }) => ({
        start,
        size,
        type,
        uuid,
        name: n,
        attrs: attrs ?? undefined,
      })),
    ).toEqual(
      built.layout.partitions.map((p) => ({
        start: p.firstLba,
        size: p.lastLba - p.firstLba + 1,
        type: p.type,
        uuid: p.guid,
        name: p.name,
        attrs: sfdiskAttrs(p.attributes),
      })),
    );
    // Every partition starts on a MiB boundary.
    expect(t.partitions.every((p) => (p.start * 512) % MIB === 0)).toBe(true);
  });

  it.skipIf(!HAVE.sfdisk)('sfdisk --verify finds no errors', async () => {
    const r = await run(['sfdisk', '--verify', built.path]);
    expect(r.stdout.toString('utf8')).toContain('No errors detected.');
    expect(r.stderr).toBe('');
  });

  it.skipIf(!HAVE.sgdisk)('sgdisk -v finds no problems, and sgdisk -i shows every field', async () => {
    const v = await run(['sgdisk', '-v', built.path]);
    const out = v.stdout.toString('utf8');
    expect(out).toContain('No problems found.');
    // The one remark allowed: a partition whose size is not whole MiB does not end on a 2048-sector boundary.
    const unaligned = built.layout.partitions.filter((p) => p.end % MIB !== 0).map((p) => p.number);
    const cautions = [
      ...(out + v.stderr).matchAll(/Caution: Partition (\d+) doesn't end on a 2048-sector\s+boundary/g),
    ];
    expect(cautions.map((m) => Number(m[1]))).toEqual(unaligned);
    const rest = (out + v.stderr).replace(/Caution: Partition \d+ doesn't end on a 2048-sector\s+boundary/g, '');
    expect(rest).not.toMatch(/Caution|Warning|Problem/);
    for (const p of built.layout.partitions) {
      const info = (await run(['sgdisk', '-i', String(p.number), built.path])).stdout.toString('utf8');
      expect(info).toContain(`Partition GUID code: ${p.type}`);
      expect(info).toContain(`Partition unique GUID: ${p.guid}`);
      expect(info).toContain(`First sector: ${p.firstLba} `);
      expect(info).toContain(`Last sector: ${p.lastLba} `);
      expect(info).toContain(`Attribute flags: ${p.attributes.toString(16).toUpperCase().padStart(16, '0')}`);
      expect(info).toContain(`Partition name: '${p.name}'`);
    }
  });

  it('readGpt agrees and finds nothing wrong', async () => {
    const report = await readGpt(built.path);
    expect(report.problems).toEqual([]);
    expect(report.partitions).toEqual(built.layout.partitions);
    expect(report.diskSize).toBe(built.layout.diskSize);
  });

  it('stays sparse: the file system allocated little more than what was written', () => {
    const st = statSync(built.path);
    expect(st.size).toBe(built.layout.diskSize);
    expect(built.result.mappedBytes).toBeLessThan(8 * MIB);
    expect(st.blocks * 512).toBeLessThan(built.result.mappedBytes + 2 * MIB);
  });

  it('has a bmap listing exactly the written blocks, whose checksums verify', async () => {
    expect(built.bmap.ranges.map(({ first, last }) => ({ first, last }))).toEqual(blockRanges(built.result.ranges));
    expect(built.bmap.imageSize).toBe(built.layout.diskSize);
    expect(await verifyBmap(built.path, built.bmap)).toEqual({ ok: true, problems: [] });
  });

  it.skipIf(!HAVE.bmaptool)(
    'bmaptool copy flashes it with our bmap (verifying every range) into an identical image',
    async () => {
      const out = join(tmp, `${name.replace(/\W+/g, '-')}.copy.img`);
      await run(['bmaptool', 'copy', '--bmap', built.bmapPath, built.path, out], { timeoutMs: 60_000 });
      expect(statSync(out).size).toBe(built.layout.diskSize);
      // cmp reads holes as zeros at a few hundred MiB/s: small images are compared byte for byte,
      // large ones through their mapped ranges (bmaptool writes nothing else into the fresh file).
      if (HAVE.cmp && built.layout.diskSize <= 256 * MIB) await run(['cmp', built.path, out]);
      else {
        expect(await verifyBmap(out, built.bmap)).toEqual({ ok: true, problems: [] });
        expect((await readGpt(out)).partitions).toEqual(built.layout.partitions);
      }
      rmSync(out);
    },
  );
});

describe('damage', () => {
  let image: Built;
  beforeAll(async () => {
    image = await build('damage', LAYOUTS[0]![1]);
  });

  it('a changed byte of the primary header: readGpt and both tools name it; the backup is intact', async () => {
    const damaged = join(tmp, 'damaged.img');
    copyFileSync(image.path, damaged);
    const handle = await open(damaged, 'r+');
    try {
      await handle.write(Buffer.from([0x5a]), 0, 1, 512 + 64); // inside the disk GUID
    } finally {
      await handle.close();
    }
    const report = await readGpt(damaged);
    expect(report.primary.valid).toBe(false);
    expect(report.backup.valid).toBe(true);
    expect(report.problems).toEqual([expect.stringMatching(/^primary GPT header: header CRC is 0x[0-9a-f]{8}, but/)]);
    expect(report.partitions).toEqual(image.layout.partitions);
    if (HAVE.sgdisk) {
      const v = await run(['sgdisk', '-v', damaged], { okCodes: [0, 1, 2, 3] });
      expect(v.stdout.toString('utf8') + v.stderr).toMatch(/Main header: ERROR\s+Backup header: OK/);
    }
    if (HAVE.sfdisk) {
      const v = await run(['sfdisk', '--verify', damaged], { okCodes: [0, 1] });
      expect(v.stderr).toContain('The primary GPT table is corrupt, but the backup appears OK');
    }
    rmSync(damaged);
  });

  it('a changed byte of a mapped range: verifyBmap names the range', async () => {
    const damaged = join(tmp, 'damaged-data.img');
    copyFileSync(image.path, damaged);
    const offset = image.layout.partitions[0]!.start + 1000;
    const handle = await open(damaged, 'r+');
    try {
      await handle.write(Buffer.from([0]), 0, 1, offset);
    } finally {
      await handle.close();
    }
    const block = Math.floor(offset / 4096);
    const range = image.bmap.ranges.find((r) => r.first <= block && block <= r.last)!;
    const result = await verifyBmap(damaged, image.bmap);
    expect(result.problems).toEqual([
      expect.stringMatching(
        new RegExp(`^blocks ${range.first}-${range.last}: sha256 is [0-9a-f]{64}, the bmap says ${range.checksum}$`),
      ),
    ]);
    rmSync(damaged);
  });
});

describe('reproducibility', () => {
  const sha256File = (path: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const hash = createHash('sha256');
      createReadStream(path)
        .on('data', (c) => hash.update(c))
        .on('error', reject)
        .on('end', () => resolve(hash.digest('hex')));
    });

  it('the same spec gives the same image and the same bmap', async () => {
    const a = await build('repro-a', LAYOUTS[0]![1], 'repro');
    const b = await build('repro-b', LAYOUTS[0]![1], 'repro');
    expect(await sha256File(a.path)).toBe(await sha256File(b.path));
    expect(readFileSync(a.bmapPath, 'utf8')).toBe(readFileSync(b.bmapPath, 'utf8'));
  });
});

describe.skipIf(!HAVE.bmaptool)('bmaptool create', () => {
  it('writes a bmap that readBmap accepts and that verifies against our image', async () => {
    const built = await build('bmaptool-create', LAYOUTS[0]![1]);
    const theirs = join(tmp, 'theirs.bmap');
    await run(['bmaptool', 'create', '--output', theirs, built.path]);
    const bmap = readBmap(readFileSync(theirs, 'utf8'), theirs);
    expect(bmap.version).toMatch(/^2\./);
    expect(bmap.imageSize).toBe(built.layout.diskSize);
    expect(await verifyBmap(built.path, bmap)).toEqual({ ok: true, problems: [] });
    // bmaptool asks the file system (FIEMAP), which sees only blocks that hold stored data: all of them
    // are in our bmap. Ours lists more: the zero parts of the GPT entry arrays, left as holes but
    // mapped, so that a flasher overwrites whatever a used stick held there.
    const covered = (block: number): boolean => built.bmap.ranges.some((r) => r.first <= block && block <= r.last);
    const theirsOutside = bmap.ranges.flatMap((r) =>
      Array.from({ length: r.last - r.first + 1 }, (_, i) => r.first + i).filter((b) => !covered(b)),
    );
    expect(theirsOutside).toEqual([]);
    expect(bmap.mappedBlocksCount).toBeLessThan(built.bmap.mappedBlocksCount);
    // Our own writer and bmaptool's agree on the format: our bmap, re-read, is what writeBmap returned.
    expect(readBmap(await createBmap(built.path, built.result.ranges))).toEqual(built.bmap);
    writeFileSync(theirs, '');
  });
});
