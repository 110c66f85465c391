// Peak memory of the image writer with a 4 GiB system tree: the payload (tar → zstd frames →
// file) and the disk assembly stream; nothing is held whole. Data is generated per file
// (deterministic, moderately compressible), so no 4 GiB has to exist anywhere first.
// Usage: npx tsx bench/memory.ts [GiB]
import { createHash } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { TreeEntry } from '../src/fstree/types.js';
import { guidFromHash } from '../src/image/guid.js';
import { writeInstallerDisk } from '../src/image/installer-disk.js';
import { measured, payloadHeader, tarOf, zstdFrames } from '../src/image/payload.js';

const gib = Number(process.argv[2] ?? 4);
const FILE = 64 * 1024 * 1024;
const files = Math.ceil((gib * 2 ** 30) / FILE);
const work = mkdtempSync(join(tmpdir(), 'bf-bench-memory-'));
let peak = 0;
let peakExternal = 0;
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  peak = Math.max(peak, m.rss);
  peakExternal = Math.max(peakExternal, m.external + m.heapUsed);
}, 20);

// 64 MiB per file from a 1 MiB pseudo-random pattern (xorshift, seeded per file: no garbage to
// collect), as a stream, the way files on disk are read; half of each word is zero, so it compresses.
function fileData(i: number): Readable {
  const block = Buffer.alloc(1024 * 1024);
  let x = (i + 1) * 2654435761;
  for (let o = 0; o < block.length; o += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    block.writeUInt16LE(x & 0xffff, o);
  }
  return Readable.from(
    (function* () {
      for (let n = 0; n < FILE / block.length; n++) yield block;
    })(),
  );
}

try {
  const base = { uid: 0, gid: 0, mtime: 0, mode: 0o644 };
  const entries: TreeEntry[] = [{ type: 'dir', path: '/data', ...base, mode: 0o755 }];
  for (let i = 0; i < files; i++)
    entries.push({
      type: 'file',
      path: `/data/f${String(i).padStart(4, '0')}`,
      size: FILE,
      sha256: String(i),
      ...base,
    });
  const t = performance.now();
  const payloadFile = join(work, 'payload.tar.zst');
  const compressed = { size: 0, hash: createHash('sha256') };
  const raw = { size: 0, hash: createHash('sha256') };
  await pipeline(
    Readable.from(
      measured(
        zstdFrames(
          measured(
            tarOf(entries, (e) => Promise.resolve(fileData(Number(e.sha256))), new Date(0)),
            raw,
          ),
          3,
        ),
        compressed,
      ),
    ),
    createWriteStream(payloadFile),
  );
  const sha = compressed.hash.digest('hex');
  const disk = await writeInstallerDisk({
    path: join(work, 'installer.img'),
    diskGuid: guidFromHash('disk'),
    esp: {
      guid: guidFromHash('esp'),
      files: [{ path: '/EFI/BOOT/BOOTX64.EFI', data: Buffer.alloc(100_000, 1) }],
      volumeId: 1,
      timestamp: new Date(0),
    },
    payload: {
      guid: guidFromHash('payload'),
      header: payloadHeader({ payload_size: compressed.size, payload_sha256: sha }),
      file: payloadFile,
      size: compressed.size,
    },
  });
  console.log(
    `tree ${(raw.size / 2 ** 30).toFixed(2)} GiB -> payload ${(compressed.size / 2 ** 20).toFixed(0)} MiB, image ${(statSync(disk.path).size / 2 ** 20).toFixed(0)} MiB in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  console.log(
    `peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB, peak JS heap + buffers ${(peakExternal / 2 ** 20).toFixed(0)} MiB (target: RSS under 300 MiB for a 4 GiB payload)`,
  );
} finally {
  clearInterval(sampler);
  rmSync(work, { recursive: true, force: true });
}
