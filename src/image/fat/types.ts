/** The data structures callers hand to the FAT32 writer and get back from it and from the reader. */

/** Content that arrives in pieces: `size` must be exact, `read()` is called once, when the file is written. */
export interface Fat32StreamSource {
  readonly size: number;
  read(): AsyncIterable<Uint8Array>;
}

export type Fat32FileData = Uint8Array | Fat32StreamSource;

export interface Fat32File {
  /** Absolute path on the volume, "/" separated: `/EFI/BOOT/BOOTX64.EFI`. */
  readonly path: string;
  readonly data: Fat32FileData;
}

/** What goes on the volume. Parent directories are implied by the paths of files. */
export interface Fat32Contents {
  readonly files: readonly Fat32File[];
  /** Directories to create even when empty (absolute paths). */
  readonly directories?: readonly string[];
  /**
   * Volume label: up to 11 characters valid in a short name, or spaces (not first);
   * upper case; '' for none. Default ''. It takes one root directory entry.
   */
  readonly label?: string;
}

export interface Fat32Options extends Fat32Contents {
  /** Bytes of the volume: a multiple of 512, at least 33 MiB (65525 clusters). */
  readonly size: number;
  readonly label: string;
  /** Volume serial number (uint32); derive it from a content hash to keep builds reproducible. */
  readonly volumeId: number;
  /** The time stamp of every entry (e.g. SOURCE_DATE_EPOCH); its UTC fields are stored. */
  readonly timestamp: Date;
  /** Sectors before the volume on its disk (BPB_HiddSec): the partition's first LBA. Default 0. */
  readonly hiddenSectors?: number;
  /** What error messages call the volume. Default "FAT32 volume". */
  readonly name?: string;
}

/**
 * Receives the volume's bytes at offsets within the volume, in increasing order.
 * Nothing is written for free clusters; everything else (reserved sectors, both
 * whole FATs, whole directory clusters, file tails to the end of their cluster) is,
 * so the volume is correct on a target that does not read as zeros.
 * The writer never changes a buffer after handing it over.
 */
export type Fat32Write = (offset: number, data: Buffer) => void | Promise<void>;

export interface Fat32Layout {
  /** Bytes of the volume. */
  readonly size: number;
  readonly bytesPerCluster: number;
  readonly clusterCount: number;
  readonly fatSectors: number;
  /** Clusters the contents take (directories including the root, and files). */
  readonly usedClusters: number;
  readonly freeClusters: number;
}

/** Reads `length` bytes at `offset` within the volume (short only at the end of the volume). */
export type Fat32Read = (offset: number, length: number) => Buffer | Promise<Buffer>;
