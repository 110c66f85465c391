import { createReadStream } from 'node:fs';
import type { Reporter } from '../log/events.js';
import { silentReporter } from '../log/events.js';
import { startTask, tracked } from '../log/progress.js';
import type { Fat32File } from './fat32.js';
import { layoutFat32, writeFat32 } from './fat32.js';
import { writeGpt, MIB, type GptLayout } from './gpt.js';
import { PARTITION_TYPE, type Guid } from './guid.js';
import { PAYLOAD_HEADER_SIZE } from './payload.js';
import { SparseImage, type SparseImageResult } from './sparse.js';

export interface InstallerDiskSpec {
  /** Where to write the raw image (the caller renames it into place). */
  readonly path: string;
  readonly diskGuid: Guid;
  readonly esp: {
    readonly guid: Guid;
    readonly files: readonly Fat32File[];
    readonly volumeId: number;
    readonly timestamp: Date;
  };
  readonly payload: {
    readonly guid: Guid;
    /** PAYLOAD_HEADER_SIZE bytes the installer reads first. */
    readonly header: Buffer;
    /** The compressed payload, already written to a file. */
    readonly file: string;
    readonly size: number;
  };
  /** Progress of the write (bytes of files and payload), task id `image`. */
  readonly reporter?: Reporter;
}

export interface InstallerDisk extends SparseImageResult {
  readonly layout: GptLayout;
}

// Room around the files in the ESP: firmware and later tools may write a little (logs, random seeds).
const ESP_SLACK = 4 * MIB;

/**
 * Assembles the installer disk: GPT; partition 1 the ESP (FAT32, sized to fit
 * its files); partition 2 the payload (header, then the compressed system).
 * Written into a sparse file with positional writes: nothing is held whole.
 */
export async function writeInstallerDisk(spec: InstallerDiskSpec): Promise<InstallerDisk> {
  const espLayout = layoutFat32({ files: spec.esp.files, label: 'BOOTFORGE' }, { align: MIB, atLeast: 0 });
  const espSize = Math.ceil((espLayout.size + ESP_SLACK) / MIB) * MIB;
  const espFinal = layoutFat32({ files: spec.esp.files, label: 'BOOTFORGE' }, { align: MIB, atLeast: espSize }).size;
  const payloadSize = Math.ceil((PAYLOAD_HEADER_SIZE + spec.payload.size) / MIB) * MIB;
  // 1 MiB in front (MBR, GPT, alignment) and 1 MiB behind (backup GPT).
  const diskSize = MIB + espFinal + payloadSize + MIB;
  const gpt = writeGpt({
    diskSize,
    diskGuid: spec.diskGuid,
    partitions: [
      { name: 'ESP', type: PARTITION_TYPE.esp, guid: spec.esp.guid, size: espFinal },
      { name: 'bootforge-payload', type: PARTITION_TYPE.bootforgePayload, guid: spec.payload.guid, size: payloadSize },
    ],
  });
  const [esp, payload] = gpt.layout.partitions;
  if (!esp || !payload) throw new Error('GPT layout lost a partition');
  const image = new SparseImage(spec.path, diskSize);
  const espBytes = spec.esp.files.reduce((n, f) => n + ('size' in f.data ? f.data.size : f.data.length), 0);
  const task = startTask(
    spec.reporter ?? silentReporter,
    'image',
    'writing the image',
    espBytes + PAYLOAD_HEADER_SIZE + spec.payload.size,
    'bytes',
    true, // FAT metadata comes on top
  );
  try {
    for (const w of gpt.writes) await image.write(w.offset, w.data);
    await writeFat32(
      {
        files: spec.esp.files,
        size: esp.size,
        label: 'BOOTFORGE',
        volumeId: spec.esp.volumeId,
        timestamp: spec.esp.timestamp,
        hiddenSectors: esp.firstLba,
        name: 'ESP',
      },
      (offset, data) => {
        task.advance(data.length);
        return image.write(esp.start + offset, data);
      },
    );
    await image.write(payload.start, spec.payload.header);
    await image.writeStream(
      payload.start + PAYLOAD_HEADER_SIZE,
      tracked(createReadStream(spec.payload.file) as AsyncIterable<Buffer>, task),
    );
    const result = await image.finalize();
    task.finish();
    return { ...result, layout: gpt.layout };
  } catch (e) {
    await image.close().catch(() => undefined);
    throw e;
  }
}
