import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FsTree } from '../fstree/tree.js';
import type { BlobStore, TreeEntry } from '../fstree/types.js';
import { measured, payloadHeader, tarOf, tarSizeEstimate, zstdFrames, type TarNaming } from '../image/payload.js';
import { startTask, tracked } from '../log/progress.js';
import { deltaPlan, type BaseIndex } from './delta.js';
import { storeBlobs } from '../packages/unpack.js';
import type { ResolvedProfile } from '../profile/resolve.js';
import { addGeneration } from './generation.js';
import { buildInitrd } from './initrd.js';
import type { StepRunner } from './steps.js';
import { assembleTreeOf, unpackPackages, type ClosurePackages, type PackageSource } from './packages.js';

/** A generation as one file's worth of bytes: the header the installer and bootforge-gen read, then the payload. */
export interface GenerationPayload {
  /** The compressed tar of the tree (zstd frames). */
  readonly file: string;
  /** 4096 bytes; its SHA-256 is what a boot entry (installer) or --expect (bootforge-gen) pins. */
  readonly header: Buffer;
  readonly headerSha256: string;
  readonly sha256: string;
  readonly size: number;
  readonly uncompressedSize: number;
  readonly kernelRelease: string;
  /** Bytes of the whole tree's tar (for a full bundle, uncompressedSize). */
  readonly treeSize: number;
  /** A delta bundle: the base generation it needs on the machine, and what it takes from there. */
  readonly delta?: { readonly base: string; readonly reused: number; readonly reusedBytes: number };
  readonly generation: {
    /** First 128 bits of the SHA-256 of the tree's tar, hex: the same system always gets the same id. */
    readonly id: string;
    /** `<id>-<profile>`: its folder in /bootforge/store. */
    readonly name: string;
  };
}

export interface GenerationPayloadOptions {
  readonly profile: ResolvedProfile;
  readonly source: PackageSource;
  readonly packages: ClosurePackages;
  /** Unpacked installer closure: the generation initrd takes its tools from it. */
  readonly installerTree: FsTree;
  readonly epoch: number;
  /** Scratch folder; the payload file is written there. */
  readonly dir: string;
  readonly level?: number;
  /** Make a delta bundle against this generation (bootforge bundle --base). */
  readonly base?: BaseIndex;
  readonly step: StepRunner;
}

/**
 * The system's packages plus what makes them a generation (its own initrd, activation,
 * init scripts, bootforge-gen, the profile's files), as a compressed tar with its header.
 */
export async function buildGenerationPayload(options: GenerationPayloadOptions): Promise<GenerationPayload> {
  const { profile, source, epoch, step } = options;
  const mtime = new Date(epoch * 1000);
  const generationInitrd = await step('generation initrd', () =>
    buildInitrd({
      profile,
      source,
      role: 'generation',
      out: join(options.dir, 'generation-initrd.img'),
      sourceDateEpoch: epoch,
      installer: { tree: options.installerTree, epoch: options.packages.epoch },
    }),
  );
  const system = await step('unpack system', () => unpackPackages(source, options.packages.system));
  const tree = assembleTreeOf(system);
  const blobs = storeBlobs(source.cacheRoot);
  await step('generation', () =>
    addGeneration(tree, blobs, {
      profile,
      epoch,
      initrd: readFileSync(generationInitrd.path),
      kernelRelease: generationInitrd.kernel.release,
      cacheRoot: source.cacheRoot,
      packages: system,
      reporter: source.reporter,
    }),
  );
  rmSync(generationInitrd.path);
  const file = join(options.dir, 'payload.tar.zst');
  const compressed = { size: 0, hash: createHash('sha256') };
  const raw = { size: 0, hash: createHash('sha256') };
  const contents = (e: TreeEntry & { sha256: string }) => fileContents(blobs, e.sha256);
  const write = async (entries: readonly TreeEntry[], naming?: TarNaming) => {
    const task = startTask(source.reporter, 'payload', 'payload: tar + zstd', tarSizeEstimate(entries), 'bytes', true);
    const tar = tracked(tarOf(entries, contents, mtime, naming), task);
    await pipeline(
      Readable.from(measured(zstdFrames(measured(tar, raw), options.level ?? 3), compressed)),
      createWriteStream(file),
    );
    task.finish();
  };
  let id: string;
  let name: string;
  let treeSize: number;
  let delta: { base: string; reused: number; reusedBytes: number } | undefined;
  if (options.base === undefined) {
    await step('payload', () => write(tree.entries()));
    id = raw.hash.digest('hex').slice(0, 32);
    name = `${id}-${profile.name}`;
    treeSize = raw.size;
  } else {
    // The id is the hash of the whole tree, as if it were a full bundle; the payload carries the difference.
    const whole = { size: 0, hash: createHash('sha256') };
    await step('tree hash', async () => {
      const entries = tree.entries();
      const task = startTask(
        source.reporter,
        'tree-hash',
        'hashing the whole tree',
        tarSizeEstimate(entries),
        'bytes',
        true,
      );
      for await (const chunk of tracked(measured(tarOf(entries, contents, mtime), whole), task)) void chunk;
      task.finish();
    });
    id = whole.hash.digest('hex').slice(0, 32);
    name = `${id}-${profile.name}`;
    treeSize = whole.size;
    const plan = deltaPlan(tree.entries(), options.base, name, options.epoch);
    await step('payload', () => write(plan.entries, plan.naming));
    delta = { base: options.base.name, reused: plan.reused, reusedBytes: plan.reusedBytes };
  }
  const sha256 = compressed.hash.digest('hex');
  const header = payloadHeader({
    payload_offset: 4096,
    payload_size: compressed.size,
    payload_sha256: sha256,
    payload_uncompressed_size: raw.size,
    payload_compression: 'zstd',
    payload_format: delta ? 'tar-delta' : 'tar',
    ...(delta ? { base: delta.base } : {}),
    tree_size: treeSize,
    profile: profile.name,
    kernel: generationInitrd.kernel.release,
    generation: name,
  });
  return {
    ...(delta ? { delta } : {}),
    treeSize,
    file,
    header,
    headerSha256: createHash('sha256').update(header).digest('hex'),
    sha256,
    size: compressed.size,
    uncompressedSize: raw.size,
    kernelRelease: generationInitrd.kernel.release,
    generation: { id, name },
  };
}

/** Large blobs are streamed from the store, small ones read whole. */
async function fileContents(blobs: BlobStore, sha: string): Promise<Buffer | Readable> {
  const path = blobs.pathOf?.(sha);
  if (path !== undefined && statSync(path).size > 1024 * 1024) return createReadStream(path);
  return blobs.get(sha);
}
