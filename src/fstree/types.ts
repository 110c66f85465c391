/**
 * A file tree as bootforge builds it, never on disk: entries keyed by absolute
 * path, with modes, owners and (for files) a content hash pointing into a blob
 * store. Package extraction fills it; the initrd and payload writers read it.
 */
export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'chardev' | 'blockdev' | 'fifo';

export interface EntryBase {
  /** Absolute, normal-form path ("/usr/bin/busybox"). */
  readonly path: string;
  /** Permission bits including setuid/setgid/sticky (e.g. 0o4755), without the file-type bits. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Owner names as the archive recorded them (e.g. "root", "shadow"), when it did. */
  readonly uname?: string;
  readonly gname?: string;
  /** Seconds since the epoch. Writers replace it with SOURCE_DATE_EPOCH; kept for provenance. */
  readonly mtime: number;
}
export interface FileEntry extends EntryBase {
  readonly type: 'file';
  readonly size: number;
  /** SHA-256 (hex) of the content, the key into the blob store. */
  readonly sha256: string;
}
export interface DirEntry extends EntryBase {
  readonly type: 'dir';
}
export interface SymlinkEntry extends EntryBase {
  readonly type: 'symlink';
  readonly target: string;
}
export interface HardlinkEntry extends EntryBase {
  readonly type: 'hardlink';
  /** Absolute path of the file this is another name of. */
  readonly target: string;
}
export interface DeviceEntry extends EntryBase {
  readonly type: 'chardev' | 'blockdev';
  readonly major: number;
  readonly minor: number;
}
export interface FifoEntry extends EntryBase {
  readonly type: 'fifo';
}
export type TreeEntry = FileEntry | DirEntry | SymlinkEntry | HardlinkEntry | DeviceEntry | FifoEntry;

/** What `BlobStore.putStream` returns. */
export interface StoredBlob {
  readonly sha256: string;
  readonly size: number;
}

/** Content-addressed file data. */
export interface BlobStore {
  has(sha256: string): Promise<boolean>;
  get(sha256: string): Promise<Buffer>;
  /** Stores data and returns its SHA-256; storing the same content twice keeps one copy. */
  put(data: Buffer): Promise<string>;
  /**
   * Stores data that arrives in chunks, so a large file need not sit in memory
   * whole; returns its SHA-256 and length. Optional: without it, callers collect
   * the chunks and call `put`.
   */
  putStream?(chunks: AsyncIterable<Uint8Array>): Promise<StoredBlob>;
  /** Where the blob lives on disk, when it does (lets writers stream large files). */
  pathOf?(sha256: string): string | undefined;
}
